// Talking to the hall service: JSON in, JSON out, errors as ApiError with the
// server's Chinese message (the API answers {"error": {"code", "message"}}).
import T from "../i18n/common.js";

export class ApiError extends Error {
  constructor(status, code, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;   // HTTP status; 0 when the network failed
    this.code = code;       // stable machine code, e.g. "queue_empty"
    this.body = body;
  }
  /** Whether the API simply is not there (yet) on this service. */
  get missing() {
    return this.status === 404 && this.code === "http_404";
  }
}

const DEFAULT_TIMEOUT_MS = 10000;
// A paired window tablet or kiosk keeps its device token here (POST /api/pairing) and sends it
// on every request: the server accepts tablet ratings and kiosk reprints only from paired devices.
const DEVICE_KEY = "hall.deviceToken";

export function deviceToken() {
  try { return localStorage.getItem(DEVICE_KEY) || ""; } catch { return ""; }
}

export function keepDeviceToken(token) {
  try { localStorage.setItem(DEVICE_KEY, token); } catch { /* private mode: pairing lasts this page only */ }
}

/** The server refused this token (revoked or unknown): drop it so the page asks for a new code. */
export function forgetDeviceToken() {
  try { localStorage.removeItem(DEVICE_KEY); } catch { /* nothing kept */ }
}

export async function request(method, path, body = undefined, { timeout = DEFAULT_TIMEOUT_MS } = {}) {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeout);
  const init = { method, headers: { Accept: "application/json" }, signal: ctrl.signal, credentials: "same-origin",
                 cache: "no-store" };
  const device = deviceToken();
  if (device) init.headers["X-Hall-Device"] = device;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(path, init);
  } catch (err) {
    if (err && err.name === "AbortError") throw new ApiError(0, "timeout", T.timeoutError);
    throw new ApiError(0, "network", T.networkError);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  const type = resp.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try { data = await resp.json(); } catch { data = null; }
  }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    const fallback = resp.status >= 500 ? T.serverError : `${T.serverError}（${resp.status}）`;
    throw new ApiError(resp.status, e.code || `http_${resp.status}`, e.message || fallback, data);
  }
  return data;
}

export const api = {
  get: (path, opts) => request("GET", path, undefined, opts),
  post: (path, body = {}, opts) => request("POST", path, body, opts),
  put: (path, body = {}, opts) => request("PUT", path, body, opts),
  del: (path, opts) => request("DELETE", path, undefined, opts),
};

/** GET that answers null instead of throwing when the API is not deployed (404). */
export async function getOptional(path) {
  try {
    return await api.get(path);
  } catch (err) {
    if (err instanceof ApiError && err.missing) return null;
    throw err;
  }
}

/** Builds a query string from an object, skipping empty values. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
