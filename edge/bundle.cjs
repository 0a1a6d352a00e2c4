// What serverless.yml points at: `${file(./edge/bundle.cjs):viewerRequest}`. osls 4.3.1's `file`
// source runs JavaScript only from .js and .cjs files, with require() (it reads any other file,
// .mjs included, as plain text: lib/configuration/variables/sources/file.js), so this CommonJS
// shim hands each call to the ES module edge/bundle.mjs.
'use strict';

const load = () => import('./bundle.mjs');

module.exports = {
  viewerRequest: async (context) => (await load()).viewerRequest(context),
  viewerResponse: async (context) => (await load()).viewerResponse(context),
};
