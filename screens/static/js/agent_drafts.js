// Drafts of 代办 requests kept on the agent's device until the township has them.
//
// A village link drops for minutes or days. Whatever the agent typed or photographed is saved
// on the device (IndexedDB; photos as Blobs) as it is entered, and sent when the link is back.
// Each draft carries a key made here when the form is opened; the server keeps one record per
// (village, key) and one photo per (record, photo key), so sending again after a lost answer
// never makes a duplicate. A draft is deleted only once the record and all its photos are in.
// Where IndexedDB is missing, localStorage holds the drafts (photos as data URLs).
import { ApiError, api } from "./api.js";
import T from "../i18n/common.js";

const DB_NAME = "hall-agent";
const STORE = "drafts";
const LS_KEY = "hall-agent-drafts";
const UPLOAD_TIMEOUT_MS = 60000;

/** A random key for a draft or a photo (works on plain http, where crypto.randomUUID is missing). */
export function newKey(prefix = "d") {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function idb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "key" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function tx(db, mode, fn) {
  return new Promise((resolve, reject) => {
    const t = db.transaction(STORE, mode);
    const store = t.objectStore(STORE);
    let result;
    Promise.resolve(fn(store)).then((r) => { result = r; });
    t.oncomplete = () => resolve(result);
    t.onerror = () => reject(t.error);
    t.onabort = () => reject(t.error);
  });
}

function reqValue(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function blobToDataUrl(blob) {
  return new Promise((resolve, reject) => {
    const fr = new FileReader();
    fr.onload = () => resolve(fr.result);
    fr.onerror = () => reject(fr.error);
    fr.readAsDataURL(blob);
  });
}

async function dataUrlToBlob(url) {
  return (await fetch(url)).blob();
}

/** The drafts on this device: put/get/all/remove, by draft key. */
export class DraftStore {
  constructor() {
    this.db = null;
    this.fallback = false;
  }

  async open() {
    if (this.db || this.fallback) return this;
    try {
      if (!("indexedDB" in window)) throw new Error("no IndexedDB");
      this.db = await idb();
    } catch {
      this.fallback = true;
    }
    return this;
  }

  async all() {
    await this.open();
    if (this.fallback) {
      const raw = JSON.parse(localStorage.getItem(LS_KEY) || "[]");
      for (const d of raw) for (const p of d.photos || []) if (p.dataUrl && !p.blob) p.blob = await dataUrlToBlob(p.dataUrl);
      return raw;
    }
    return tx(this.db, "readonly", (s) => reqValue(s.getAll()));
  }

  async get(key) {
    return (await this.all()).find((d) => d.key === key) || null;
  }

  async put(draft) {
    await this.open();
    draft.saved_at = new Date().toISOString();
    if (this.fallback) {
      const list = (await this.all()).filter((d) => d.key !== draft.key);
      list.push(draft);
      const plain = [];
      for (const d of list) {
        const photos = [];
        for (const p of d.photos || []) photos.push({ ...p, blob: undefined, dataUrl: p.dataUrl || await blobToDataUrl(p.blob) });
        plain.push({ ...d, photos });
      }
      localStorage.setItem(LS_KEY, JSON.stringify(plain));   // QuotaExceededError reaches the caller
      return draft;
    }
    await tx(this.db, "readwrite", (s) => reqValue(s.put(draft)));
    return draft;
  }

  async remove(key) {
    await this.open();
    if (this.fallback) {
      const list = JSON.parse(localStorage.getItem(LS_KEY) || "[]").filter((d) => d.key !== key);
      localStorage.setItem(LS_KEY, JSON.stringify(list));
      return;
    }
    await tx(this.db, "readwrite", (s) => reqValue(s.delete(key)));
  }
}

/** A phone photo made small enough for a village link: upright, at most `max` px, JPEG. */
export async function shrinkPhoto(file, max = 1600, quality = 0.82) {
  try {
    const bmp = await createImageBitmap(file, { imageOrientation: "from-image" });
    const scale = Math.min(1, max / Math.max(bmp.width, bmp.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bmp.width * scale);
    canvas.height = Math.round(bmp.height * scale);
    canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
    bmp.close();
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
    if (blob) return blob;
  } catch {
    // not decodable here (an unusual format): send the original, the server checks it
  }
  return file;
}

/** POST a photo as multipart; errors as ApiError like the JSON calls (status 0 = network). */
export async function uploadPhoto(recordId, photo) {
  const form = new FormData();
  form.append("client_key", photo.key);
  form.append("material", photo.material || "");
  form.append("file", photo.blob, `${photo.key}.jpg`);
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), UPLOAD_TIMEOUT_MS);
  let resp;
  try {
    resp = await fetch(`/api/village/records/${recordId}/photos`, {
      method: "POST", body: form, credentials: "same-origin", signal: ctrl.signal, cache: "no-store",
      headers: { Accept: "application/json" } });
  } catch (err) {
    throw new ApiError(0, err && err.name === "AbortError" ? "timeout" : "network",
      err && err.name === "AbortError" ? T.timeoutError : T.networkError);
  } finally {
    clearTimeout(timer);
  }
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    throw new ApiError(resp.status, e.code || `http_${resp.status}`, e.message || T.serverError, data);
  }
  return data;
}

/** Whether an error means "try again later" (no link, timeout, server busy) rather than "fix the draft". */
export function transient(err) {
  return !(err instanceof ApiError) || err.status === 0 || err.status >= 500 || err.status === 429 || err.status === 401;
}

/**
 * Sends queued drafts of the signed-in agent, one at a time, and says what happened.
 * onChange(draft, outcome) with outcome "sent" | "queued" | "error" | "sending".
 */
export class DraftSender {
  constructor(store, { owner, onChange = () => {}, every = 15000 }) {
    this.store = store;
    this.owner = owner;
    this.onChange = onChange;
    this.every = every;
    this.running = null;
    this.again = null;           // the pass queued behind a running one (see flush)
    this.inflight = new Set();   // draft keys being sent right now: never two sends of one draft at once
    this.timer = null;
    this.onOnline = () => this.flush();
  }

  start() {
    window.addEventListener("online", this.onOnline);
    this.timer = setInterval(() => this.flush(), this.every);
    this.flush();
    return this;
  }

  stop() {
    window.removeEventListener("online", this.onOnline);
    clearInterval(this.timer);
  }

  /**
   * Send every queued draft now. A pass already running is joined, but one more pass follows it:
   * a draft re-queued (重试) while that pass was busy with it must not wait for the next timer tick.
   */
  flush() {
    if (this.running) {
      this.again = this.again || this.running.catch(() => {}).then(() => { this.again = null; return this.flush(); });
      return this.again;
    }
    this.running = this._pass().finally(() => { this.running = null; });
    return this.running;
  }

  async _pass() {
    const drafts = (await this.store.all()).filter((d) => d.owner === this.owner && (d.status === "queued" || d.status === "sending"));
    drafts.sort((a, b) => (a.queued_at || "").localeCompare(b.queued_at || ""));
    for (const listed of drafts) {
      const d = await this.store.get(listed.key);      // still there, and as it is now
      if (!d) continue;
      const ok = await this.send(d);
      if (ok === "offline") break;          // no link: the rest would fail the same way
    }
  }

  async send(d) {
    if (this.inflight.has(d.key)) return "busy";
    this.inflight.add(d.key);
    try {
      return await this._send(d);
    } finally {
      this.inflight.delete(d.key);
    }
  }

  async _send(d) {
    d.status = "sending";
    await this.store.put(d);
    this.onChange(d, "sending");
    try {
      if (!d.record_id) {
        const r = await api.post("/api/village/records", { client_key: d.key, ...d.body }, { timeout: 20000 });
        d.record_id = r.record.id;
        d.ref_no = r.record.ref_no;
        await this.store.put(d);
      }
      for (const p of d.photos) {
        if (p.uploaded) continue;
        await uploadPhoto(d.record_id, p);
        p.uploaded = true;
        await this.store.put(d);
      }
      await this.store.remove(d.key);
      this.onChange(d, "sent");
      return "sent";
    } catch (err) {
      if (transient(err)) {
        d.status = "queued";
        d.error = err.status === 401 ? "login" : "";
        await this.store.put(d);
        this.onChange(d, "queued", err);
        return err.status === 0 ? "offline" : "queued";
      }
      d.status = "error";
      d.error = err.message;
      await this.store.put(d);
      this.onChange(d, "error", err);
      return "error";
    }
  }
}
