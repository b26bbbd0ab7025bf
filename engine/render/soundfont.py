"""Find the General MIDI soundfont the renderer plays through.

Search order: an explicit path, else $SOUNDFONT; then soundfonts/ in the repo; then the system's GM soundfonts
(Debian's fluid-soundfont-gm first). A setting that names a missing file is an error rather than a silent
fallback, so a typo never renders with an unexpected instrument set.
"""

import os
from pathlib import Path

import engine

ENV_VAR = "SOUNDFONT"
REPO_DIR = Path(engine.__file__).resolve().parents[1] / "soundfonts"
SYSTEM_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/sounds/sf3"))
PREFERRED = "FluidR3_GM.sf2"
SUFFIXES = (".sf2", ".sf3")
INSTALL_HINT = (
    f"install one with `sudo apt-get install fluid-soundfont-gm`, put a .sf2 in {REPO_DIR}/ "
    f"or set {ENV_VAR}=/path/to/font.sf2"
)


class SoundfontNotFound(RuntimeError):
    """No usable soundfont; the message says where we looked and how to get one."""


def _fonts_in(folder: Path) -> list[Path]:
    """Soundfont files in `folder`, sorted by name so the choice is stable; broken links are skipped."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())


def find_soundfont(explicit: str | Path | None = None) -> Path:
    """Return the soundfont to use, or raise SoundfontNotFound with a one-line explanation."""
    env = os.environ.get(ENV_VAR, "")
    setting, origin = (explicit, "the explicit argument") if explicit else (env, f"${ENV_VAR}")
    if setting:
        path = Path(setting).expanduser()
        if not path.is_file():
            raise SoundfontNotFound(f"soundfont {path} (from {origin}) is not a file; {INSTALL_HINT}")
        return path

    repo_fonts = _fonts_in(REPO_DIR)
    if repo_fonts:
        return repo_fonts[0]
    system_fonts = [p for folder in SYSTEM_DIRS for p in _fonts_in(folder)]
    system_fonts.sort(key=lambda p: p.name != PREFERRED)  # stable: FluidR3 first, the rest keep their order
    if system_fonts:
        return system_fonts[0]

    places = [f"${ENV_VAR} (unset)", f"{REPO_DIR}/*.sf2|*.sf3"]
    places += [f"{folder}/*.sf2|*.sf3" for folder in SYSTEM_DIRS]
    raise SoundfontNotFound(f"no soundfont found; looked in {', '.join(places)}; {INSTALL_HINT}")
