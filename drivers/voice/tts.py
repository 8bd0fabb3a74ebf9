"""espeak-ng rendering to WAV (cached per text) and playing WAV files, portably.

Voice choice, checked on espeak-ng 1.51 (Debian 12): the `cmn` voice switches
to English for syllables its rules do not claim and then reads their tone
digits as English numbers ("请" came out as "qing three", `espeak-ng -x`
shows `(en)kI55NTr'i:55`). `cmn-latn-pinyin` is the same Mandarin dictionary
but reads Latin as pinyin, which renders every hanzi of the announcements
correctly, reads capital letters the way Chinese speakers name them (A = ei),
and lets us give tone-numbered pinyin for polyphones. It is the default when
installed; otherwise `cmn`.

The text goes to espeak-ng on stdin as UTF-8 (`-b 1 --stdin`), never on the
command line, so Windows' ANSI code page cannot mangle it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shlex
import shutil
import subprocess
import sys
import wave
from pathlib import Path

log = logging.getLogger(__name__)

PREFERRED_VOICES = ("cmn-latn-pinyin", "cmn")
WINDOWS_PATHS = (r"C:\Program Files\eSpeak NG\espeak-ng.exe", r"C:\Program Files (x86)\eSpeak NG\espeak-ng.exe")
INSTALL_HINT = ("未找到 espeak-ng：Debian/Ubuntu 请运行 scripts/setup 或 apt-get install espeak-ng；"
                "Windows 请安装 eSpeak NG 并把 espeak-ng.exe 所在目录加入 PATH（或设置选项 espeak）")


class VoiceError(RuntimeError):
    """Rendering or playing failed; the message says why in Chinese."""


def find_espeak(explicit: str | None = None) -> str:
    if explicit:
        found = shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
        if not found:
            raise VoiceError(f"找不到配置的 espeak-ng：{explicit}")
        return found
    for name in ("espeak-ng", "espeak-ng.exe"):
        found = shutil.which(name)
        if found:
            return found
    if sys.platform == "win32":
        for p in WINDOWS_PATHS:
            if Path(p).is_file():
                return p
    raise VoiceError(INSTALL_HINT)


def list_voices(exe: str) -> set[str]:
    try:
        out = subprocess.run([exe, "--voices"], capture_output=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise VoiceError(f"espeak-ng 无法运行：{exc}") from exc
    names = set()
    for line in out.decode("utf-8", errors="replace").splitlines()[1:]:
        cols = line.split()          # Pty Language Age/Gender VoiceName File Other-languages
        if len(cols) >= 5:
            names.add(cols[1].lower())
            names.add(cols[4].rsplit("/", 1)[-1].lower())
    return names


def wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / float(w.getframerate())


class EspeakRenderer:
    """Renders text to WAV with espeak-ng, one cached file per (voice, speed, pitch, amplitude, text)."""

    def __init__(self, cache_dir: Path, *, exe: str | None = None, voice: str | None = None, speed: int = 150,
                 pitch: int = 50, amplitude: int = 120, max_files: int = 400, timeout: float = 20.0) -> None:
        self.cache_dir = cache_dir
        self.exe = find_espeak(exe)
        available = list_voices(self.exe)
        if voice:
            if voice.lower() not in available:
                raise VoiceError(f"espeak-ng 没有语音 {voice}（可用：{', '.join(sorted(available)) or '无'}）")
            self.voice = voice
        else:
            choice = next((v for v in PREFERRED_VOICES if v in available), None)
            if choice is None:
                raise VoiceError("espeak-ng 没有普通话语音 cmn（请安装 espeak-ng-data）")
            self.voice = choice
        self.speed, self.pitch, self.amplitude = speed, pitch, amplitude
        self.max_files = max_files
        self.timeout = timeout
        self.renders = 0
        self.cache_hits = 0

    def path_for(self, text: str) -> Path:
        key = f"{self.voice}|{self.speed}|{self.pitch}|{self.amplitude}|{text}".encode()
        return self.cache_dir / f"{hashlib.sha256(key).hexdigest()[:24]}.wav"

    def render(self, text: str) -> Path:
        """The WAV for `text`, rendered now or taken from the cache."""
        if not text.strip():
            raise VoiceError("播报文本为空")
        path = self.path_for(text)
        if path.is_file() and path.stat().st_size > 44:
            with contextlib.suppress(OSError):
                os.utime(path)          # keep recently used files when pruning
            self.cache_hits += 1
            return path
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        cmd = [self.exe, "-v", self.voice, "-s", str(self.speed), "-p", str(self.pitch), "-a",
               str(self.amplitude), "-b", "1", "-w", str(tmp), "--stdin"]
        try:
            proc = subprocess.run(cmd, input=text.encode("utf-8"), capture_output=True, timeout=self.timeout,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            tmp.unlink(missing_ok=True)
            raise VoiceError(f"espeak-ng 超时（{self.timeout:.0f} 秒）") from exc
        except OSError as exc:
            raise VoiceError(f"espeak-ng 无法运行：{exc}") from exc
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size <= 44:
            tmp.unlink(missing_ok=True)
            err = proc.stderr.decode("utf-8", errors="replace").strip()
            raise VoiceError(f"espeak-ng 合成失败（退出码 {proc.returncode}）：{err[:200]}")
        os.replace(tmp, path)
        self.renders += 1
        self._prune()
        return path

    def _prune(self) -> None:
        try:
            files = sorted(self.cache_dir.glob("*.wav"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for p in files[:max(0, len(files) - self.max_files)]:
            with contextlib.suppress(OSError):
                p.unlink()


class Player:
    """Plays a WAV to the PC's speaker and returns when it has finished (so calls never overlap).

    Linux: the first of `aplay`, `paplay`, `play` (sox) found; Windows: winsound.
    `command` overrides, e.g. "aplay -q -D plughw:1,0 {path}" ({path} is replaced;
    without it the path is appended).
    """

    LINUX_PLAYERS: tuple[tuple[str, list[str]], ...] = (("aplay", ["-q"]), ("paplay", []), ("play", ["-q"]))

    def __init__(self, command: str | None = None) -> None:
        self.argv: list[str] | None = None
        self.name = ""
        if command:
            self.argv = shlex.split(command, posix=os.name != "nt")
            if not self.argv or not (shutil.which(self.argv[0]) or Path(self.argv[0]).is_file()):
                raise VoiceError(f"找不到播放命令：{command}")
            self.name = Path(self.argv[0]).name
        elif sys.platform == "win32":
            self.name = "winsound"
        else:
            for exe, args in self.LINUX_PLAYERS:
                found = shutil.which(exe)
                if found:
                    self.argv, self.name = [found, *args], exe
                    break
            else:
                raise VoiceError("未找到播放程序（aplay、paplay 或 sox 的 play）：请安装 alsa-utils 或 sox")

    def play(self, path: Path, timeout: float) -> None:
        if self.argv is None:
            if sys.platform == "win32":
                import winsound

                winsound.PlaySound(str(path), winsound.SND_FILENAME)   # synchronous
                return
            raise VoiceError("没有可用的播放程序")
        argv = [a.replace("{path}", str(path)) for a in self.argv]
        if not any("{path}" in a for a in self.argv):
            argv.append(str(path))
        try:
            proc = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise VoiceError(f"播放超时：{self.name}") from exc
        except OSError as exc:
            raise VoiceError(f"播放程序无法运行：{exc}") from exc
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", errors="replace").strip()
            raise VoiceError(f"播放失败（{self.name} 退出码 {proc.returncode}）：{err[:200]}")
