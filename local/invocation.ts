import type { LambdaFunctionURLEvent } from 'aws-lambda';
import type { ByteSink } from './lambda-runtime';

/**
 * What the local Function URL front end (url-server.ts) needs from whatever runs the function: the
 * in-process emulation of the runtime (url-server.ts) or AWS's runtime client behind a Runtime API
 * (runtime-pool.ts). Both report one invocation's answer through the same sink, so the HTTP
 * response is made of it by one piece of code whichever ran the handler.
 */

/** A function's failure as the runtime reports it: the Error-Type trailer and the Error-Body's fields. */
export interface FunctionError {
  readonly errorType: string;
  readonly errorMessage: string;
}

/**
 * Where one invocation's answer goes, in the order the runtime produces it: the response bytes
 * (with the content type the runtime declared), then exactly one of end (the stream finished),
 * fail (the function failed: error trailers, or no answer at all) or abort (the stream was cut).
 */
export interface InvocationSink extends ByteSink {
  fail(error: FunctionError): void;
}

export interface Invocation {
  /** The client has gone: stop sending it bytes (see README "Local development" for what each runtime does). */
  cancel(): void;
}

export type Invoke = (event: LambdaFunctionURLEvent, sink: InvocationSink) => Invocation;

/** As the runtime client formats what a handler threw (errorType from the error's name). */
export function functionError(error: unknown): FunctionError {
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message };
  return { errorType: typeof error, errorMessage: String(error) };
}
