import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { CORS_BASE_HEADERS, allowedRequestHeaders, preflightHeaders, setResponseHeaders } from './cors';

describe('CORS headers', () => {
  it('always allow content-type and X-Request-Id', () => {
    expect(CORS_BASE_HEADERS).toBe('content-type, x-request-id');
    expect(allowedRequestHeaders(undefined)).toBe(CORS_BASE_HEADERS);
    expect(allowedRequestHeaders('')).toBe(CORS_BASE_HEADERS);
  });

  it("add the headers the browser asked for, lower-case, once, without repeating ours", () => {
    expect(allowedRequestHeaders('Content-Type, X-Request-Id')).toBe(CORS_BASE_HEADERS);
    expect(allowedRequestHeaders('content-type,Authorization , x-custom, X-CUSTOM')).toBe('content-type, x-request-id, authorization, x-custom');
  });

  it('ignore a request list that is not header names, or too long, and never echo *', () => {
    expect(allowedRequestHeaders('x-a, bad header')).toBe(CORS_BASE_HEADERS);
    expect(allowedRequestHeaders('x-a\r\nSet-Cookie: a')).toBe(CORS_BASE_HEADERS);
    expect(allowedRequestHeaders(Array.from({ length: 200 }, (_, i) => `x-h${i}`).join(','))).toBe(CORS_BASE_HEADERS);
    expect(allowedRequestHeaders('*, x-a')).toBe('content-type, x-request-id, x-a');
  });

  it('a preflight answer carries origin, methods, headers, max-age and Vary', () => {
    expect(preflightHeaders('https://app.example.com', 'content-type, x-wallet')).toEqual({
      'access-control-allow-origin': 'https://app.example.com',
      'access-control-allow-methods': 'POST, GET, OPTIONS',
      'access-control-allow-headers': 'content-type, x-request-id, x-wallet',
      'access-control-max-age': '600',
      vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
      'content-length': '0',
    });
  });

  it('other responses carry the allowed origin and Vary: Origin', () => {
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    setResponseHeaders(res, '*');
    expect(res.getHeaders()).toEqual({ 'access-control-allow-origin': '*', vary: 'Origin' });
  });
});
