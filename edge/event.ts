/**
 * The CloudFront Functions event and return shapes (AWS, "CloudFront Functions event
 * structure"): header names in lower case, each field `{ value }`, repeats in `multiValue`.
 */
export interface CfValue {
  value: string;
  multiValue?: Array<{ value: string }>;
}

export type CfFields = Record<string, CfValue>;

export interface CfRequest {
  /** Read-only: a returned request may not change it. */
  readonly method: string;
  uri: string;
  /** An object as CloudFront passes it; a function may return a string instead. */
  querystring: CfFields | string;
  headers: CfFields;
  cookies: CfFields;
}

export interface CfResponse {
  statusCode: number;
  statusDescription?: string;
  headers: CfFields;
  cookies?: CfFields;
  body?: string | { encoding: 'text' | 'base64'; data: string };
}

export interface CfEvent {
  version: string;
  context: { eventType: 'viewer-request' | 'viewer-response'; distributionDomainName?: string; distributionId?: string; requestId?: string };
  viewer: { ip: string };
  request: CfRequest;
  response?: CfResponse;
}
