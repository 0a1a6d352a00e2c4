import type { Headers } from '../core/plan';
import type { HeaderBag } from '../core/request';
import type { CfFields, CfResponse } from './event';

/** Header fields as the core reads them: repeats joined with "," as a Function URL joins them. */
export function headerBag(fields: CfFields): HeaderBag {
  const bag: Record<string, string> = {};
  for (const name of Object.keys(fields)) {
    const field = fields[name];
    if (field === undefined) continue;
    bag[name] = field.multiValue === undefined ? field.value : field.multiValue.map((item) => item.value).join(',');
  }
  return bag;
}

export function toFields(headers: Headers): CfFields {
  const fields: CfFields = {};
  for (const name of Object.keys(headers)) fields[name] = { value: headers[name] ?? '' };
  return fields;
}

/** One `name=value` per value, names and values as CloudFront passed them (still percent-encoded). */
export function rawPairs(querystring: CfFields | string): string[] {
  if (typeof querystring === 'string') return querystring === '' ? [] : querystring.split('&');
  const pairs: string[] = [];
  for (const name of Object.keys(querystring)) {
    const field = querystring[name];
    if (field === undefined) continue;
    for (const item of field.multiValue ?? [field]) pairs.push(`${name}=${item.value}`);
  }
  return pairs;
}

/** A generated answer; its statusDescription is optional (AWS, "CloudFront Functions event structure"). */
export function response(status: number, headers: Headers, body: string | undefined): CfResponse {
  return { statusCode: status, headers: toFields(headers), ...(body === undefined ? {} : { body }) };
}
