/** Request header fields by lower-case name; repeated fields joined with ", " as HTTP allows. */
export type HeaderBag = Readonly<Record<string, string | undefined>>;

/** What every adapter (Function URL, API Gateway, the local server) turns its request into. */
export interface StreamRequest {
  readonly method: string;
  /** The path exactly as received, still percent-encoded. */
  readonly rawPath: string;
  /** The query string without "?", still percent-encoded. */
  readonly rawQuery: string;
  readonly headers: HeaderBag;
}
