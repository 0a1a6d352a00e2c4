// Stub, so that the CDN-mode template packages: the edge functions' real bundle replaces this file.
// Interface (stack/template.cjs calls it while osls reads serverless.yml): each export is called with
// osls's resolver context { options, resolveVariable, resolveConfigurationProperty } and returns,
// or resolves to, the complete code of a cloudfront-js-2.0 function.
export const viewerRequest = () => 'function handler(event) { return event.request; }';
export const viewerResponse = () => 'function handler(event) { return event.response; }';
