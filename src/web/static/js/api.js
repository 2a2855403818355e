// The API client: JSON requests whose failures carry the problem+json `detail`.

import { t } from './i18n.js';

/** An API failure with the problem+json `detail`. */
export class ApiError extends Error {
  constructor(status, detail, title) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.title = title || '';
  }
}

export function isAbort(e) {
  return e && e.name === 'AbortError';
}

/** Fetches JSON; throws ApiError with the problem `detail` on HTTP errors. */
export async function api(url, options = {}) {
  let res;
  try {
    res = await fetch(url, {
      ...options,
      headers: { Accept: 'application/json, application/problem+json', ...(options.headers || {}) },
    });
  } catch (e) {
    if (isAbort(e)) throw e;
    throw new ApiError(0, t('error.network'), 'Network error');
  }
  const type = res.headers.get('content-type') || '';
  let body = null;
  if (type.includes('json')) {
    try {
      body = await res.json();
    } catch (e) {
      if (isAbort(e)) throw e;
      body = null;
    }
  }
  if (!res.ok) {
    const detail = (body && (body.detail || body.title)) || `HTTP ${res.status} ${res.statusText || ''}`.trim();
    throw new ApiError(res.status, String(detail), body && body.title);
  }
  if (body === null) throw new ApiError(res.status, t('error.notjson'));
  return body;
}

/** The query string of `params`, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}

/** Resolves a tile URL template without percent-encoding its `{z}/{x}/{y}` placeholders. */
export function resolveTemplate(url, base) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
  if (url.startsWith('//')) return location.protocol + url;
  if (url.startsWith('/')) return location.origin + url;
  const dir = base.slice(0, base.lastIndexOf('/') + 1);
  return location.origin + dir + url;
}
