// Spoken Mandarin through the browser's speechSynthesis (zh-CN), and a chime
// drawn with WebAudio (no audio files).
//
// SpeechQueue: announcements in order, none cut off. We hand speechSynthesis one
// utterance at a time and wait for its `end` (or `error`) before the next; a
// generous fallback timer moves on if a browser never fires `end`, and even then
// we never call cancel(), so the browser's own queue keeps the earlier words.

const DIGITS = "零一二三四五六七八九";

/** "A001" → "A零零一": TTS engines read whole numbers ("一千零一"); halls spell them. */
export function spellNumber(number) {
  return String(number).replace(/\d/g, (d) => DIGITS[Number(d)]);
}

/** The words for a call: the service's text with the ticket number spelled digit by digit. */
export function callSpeech(text, number) {
  let out = String(text || "");
  if (number) out = out.split(number).join(spellNumber(number));
  return out.replace(/[（(]\s*重呼\s*[)）]/g, "，重呼");
}

let audioCtx = null;
export function audioContext() {
  if (!audioCtx) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    audioCtx = new Ctx();
  }
  return audioCtx;
}

/** Whether the browser still blocks sound until someone touches the page (autoplay policy). */
export function soundBlocked() {
  const ctx = audioContext();
  return !!ctx && ctx.state === "suspended";
}

export function unlockSound() {
  const ctx = audioContext();
  if (ctx && ctx.state === "suspended") ctx.resume().catch(() => {});
}

/** A two-tone "ding-dong" (about 0.9 s); resolves when it has played. */
export function chime() {
  const ctx = audioContext();
  if (!ctx) return Promise.resolve();
  if (ctx.state === "suspended") ctx.resume().catch(() => {});
  const t0 = ctx.currentTime + 0.02;
  const tones = [[880, 0], [659.25, 0.38]];
  for (const [freq, at] of tones) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t0 + at);
    gain.gain.exponentialRampToValueAtTime(0.35, t0 + at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.5);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t0 + at);
    osc.stop(t0 + at + 0.52);
  }
  return new Promise((resolve) => setTimeout(resolve, 950));
}

function pickVoice(lang) {
  if (!("speechSynthesis" in window)) return null;
  const voices = window.speechSynthesis.getVoices() || [];
  const want = lang.toLowerCase();
  return voices.find((v) => v.lang && v.lang.toLowerCase() === want)
    || voices.find((v) => v.lang && v.lang.toLowerCase().startsWith("zh"))
    || null;
}

export class SpeechQueue {
  constructor({ lang = "zh-CN", rate = 0.9, onSpeak = () => {} } = {}) {
    this.lang = lang;
    this.rate = rate;
    this.items = [];
    this.busy = false;
    this.onSpeak = onSpeak;   // called with the text as it starts (the board highlights it)
  }

  get available() { return "speechSynthesis" in window; }

  /** Queue `text`; resolves once it has been spoken (or skipped when speech is missing). */
  enqueue(text, { chime: withChime = false } = {}) {
    return new Promise((resolve) => {
      this.items.push({ text, withChime, resolve });
      this._pump();
    });
  }

  get length() { return this.items.length + (this.busy ? 1 : 0); }

  async _pump() {
    if (this.busy) return;
    const item = this.items.shift();
    if (!item) return;
    this.busy = true;
    try {
      if (item.withChime) await chime();
      this.onSpeak(item.text);
      await this._say(item.text);
    } finally {
      this.busy = false;
      item.resolve();
      this._pump();
    }
  }

  _say(text) {
    if (!this.available) return Promise.resolve();
    return new Promise((resolve) => {
      const u = new SpeechSynthesisUtterance(text);
      u.lang = this.lang;
      u.rate = this.rate;
      const voice = pickVoice(this.lang);
      if (voice) u.voice = voice;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(guard);
        resolve();
      };
      // Mandarin runs at roughly 4 characters a second at rate 0.9; allow triple.
      const guard = setTimeout(finish, 3000 + text.length * 750);
      u.onend = finish;
      u.onerror = finish;
      window.speechSynthesis.speak(u);
    });
  }
}

/** Reads the current kiosk screen aloud; a new screen replaces what is being read. */
export class ScreenReader {
  constructor({ lang = "zh-CN", rate = 0.9 } = {}) {
    this.lang = lang;
    this.rate = rate;
  }

  read(text) {
    if (!("speechSynthesis" in window) || !text) return;
    window.speechSynthesis.cancel();
    const u = new SpeechSynthesisUtterance(text);
    u.lang = this.lang;
    u.rate = this.rate;
    const voice = pickVoice(this.lang);
    if (voice) u.voice = voice;
    window.speechSynthesis.speak(u);
  }

  stop() {
    if ("speechSynthesis" in window) window.speechSynthesis.cancel();
  }
}
