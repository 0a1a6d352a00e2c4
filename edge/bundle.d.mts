import type { EdgeSettings } from './build-config';

/** Types of edge/bundle.mjs (plain JavaScript, so that osls can load it without a TypeScript loader). */
export declare const MAX_FUNCTION_BYTES: number;
export interface EdgeFunctions {
  readonly viewerRequest: string;
  readonly viewerResponse: string;
}
export declare function buildEdgeFunctions(settings: EdgeSettings): Promise<EdgeFunctions>;
/** What osls's `file` source passes a JavaScript function. */
export interface VariableContext {
  resolveVariable(variable: string): Promise<unknown>;
}
export declare function viewerRequest(context: VariableContext): Promise<string>;
export declare function viewerResponse(context: VariableContext): Promise<string>;
