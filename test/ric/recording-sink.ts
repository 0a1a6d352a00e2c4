import type { LambdaFunctionURLEvent } from 'aws-lambda';
import type { FunctionError, Invoke, InvocationSink } from '../../local/invocation';

/** What reached the front end from a runtime for one invocation. */
export interface Reached {
  readonly contentType: string;
  readonly bytes: Buffer;
  readonly ending: 'end' | 'fail' | 'cut';
  readonly error?: FunctionError;
}

/** Runs one invocation into a sink that keeps everything; rejects if it is not over in `waitMs`. */
export function reach(invoke: Invoke, event: LambdaFunctionURLEvent, waitMs = 10_000): { reached: Promise<Reached>; cancel: () => void } {
  let cancel: () => void = () => undefined;
  const reached = new Promise<Reached>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let contentType = '';
    const timer = setTimeout(() => reject(new Error(`no answer in ${waitMs} ms`)), waitMs);
    const done = (ending: Reached['ending'], error?: FunctionError) => {
      clearTimeout(timer);
      resolve({ contentType, bytes: Buffer.concat(chunks), ending, ...(error === undefined ? {} : { error }) });
    };
    const sink: InvocationSink = {
      write(chunk, type, callback) {
        contentType = type;
        chunks.push(Buffer.from(chunk));
        callback();
      },
      end(type, callback) {
        contentType ||= type;
        callback();
        done('end');
      },
      fail: (error) => done('fail', error),
      abort: () => done('cut'),
    };
    cancel = invoke(event, sink).cancel;
  });
  return { reached, cancel };
}
