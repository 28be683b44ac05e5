"""Read policy TOML files and compose the effective policy of a region."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from socialcredit.policy.models import EffectivePolicy, PolicyFile


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a policy: where (file, key) and what."""

    file: str
    key: str
    message: str
    level: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.level}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"file": self.file, "key": self.key, "level": self.level, "message": self.message}


class PolicyError(Exception):
    """The policy files cannot be used; ``problems`` says why, each with file and key."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


@dataclass(frozen=True, slots=True)
class LoadedFile:
    path: Path
    policy: PolicyFile
    #: how messages and ``sources`` name the file: the path as given, or relative
    #: to the policy directory for a whole catalog
    name: str


def _format_location(location: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in location)


def parse_file(path: Path, label: str | None = None) -> tuple[LoadedFile | None, list[Problem]]:
    """Parse and structurally validate one file. Never raises for bad content."""
    label = label or str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except IsADirectoryError:
        return None, [Problem(label, "", "is a directory, not a policy file")]
    except OSError as error:
        return None, [Problem(label, "", f"cannot read: {error.strerror or error}")]
    except UnicodeDecodeError as error:
        return None, [Problem(label, "", f"not UTF-8 text: {error.reason} at byte {error.start}")]
    except tomllib.TOMLDecodeError as error:
        return None, [Problem(label, "", f"TOML syntax: {error}")]
    except RecursionError:
        return None, [Problem(label, "", "TOML nested too deeply to be a policy")]
    try:
        return LoadedFile(path, PolicyFile.model_validate(raw), label), []
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            value = detail.get("input")
            shown = "" if isinstance(value, dict) else f" (got {value!r})"
            problems.append(
                Problem(label, _format_location(detail["loc"]), f"{detail['msg']}{shown}")
            )
        return None, problems


@dataclass(frozen=True)
class PolicyCatalog:
    """The national policy and its overlays, as loaded (validated by the loader's caller)."""

    national: LoadedFile
    overlays: tuple[LoadedFile, ...] = field(default=())

    def overlays_for(self, region: str | None) -> list[LoadedFile]:
        """Overlays whose region is a prefix of ``region``, province before city before county."""
        if region is None:
            return []
        matching = [
            overlay
            for overlay in self.overlays
            if overlay.policy.policy.region is not None
            and region.startswith(overlay.policy.policy.region)
        ]
        return sorted(matching, key=lambda overlay: len(overlay.policy.policy.region or ""))

    @cached_property
    def overlay_regions(self) -> tuple[str, ...]:
        return tuple(
            sorted(o.policy.policy.region for o in self.overlays if o.policy.policy.region)
        )

    def effective(self, region: str | None = None) -> EffectivePolicy:
        """The policy that applies to a subject of ``region`` (None: national only)."""
        return compose(self.national, self.overlays_for(region), region)


def compose(
    national: LoadedFile, overlays: list[LoadedFile], region: str | None
) -> EffectivePolicy:
    """Apply overlays in order; an overlay's record type or measure replaces the whole entry."""
    base = national.policy
    if base.scale is None or base.grades is None or base.lists is None:
        raise PolicyError(
            [Problem(national.name, "", "the national policy needs scale, grades and lists")]
        )
    record_types = dict(base.record_types)
    measures = dict(base.measures)
    sources = {"scale": national.name, "grades": national.name, "lists": national.name}
    sources |= {f"record_types.{key}": national.name for key in record_types}
    sources |= {f"measures.{key}": national.name for key in measures}
    for overlay in overlays:
        record_types |= overlay.policy.record_types
        measures |= overlay.policy.measures
        sources |= {f"record_types.{key}": overlay.name for key in overlay.policy.record_types}
        sources |= {f"measures.{key}": overlay.name for key in overlay.policy.measures}
    layers = (base.policy, *(overlay.policy.policy for overlay in overlays))
    return EffectivePolicy(
        id="+".join(layer.id for layer in layers),
        version="+".join(f"{layer.id}@{layer.version}" for layer in layers),
        region=region,
        layers=layers,
        scale=base.scale,
        grades=base.grades,
        lists=base.lists,
        record_types=dict(sorted(record_types.items())),
        measures=dict(sorted(measures.items())),
        sources=sources,
    )


def shipped_policy_dir() -> Path:
    """The policies shipped with the package (or with the source tree, in development)."""
    packaged = Path(str(resources.files("socialcredit"))) / "policies"
    if (packaged / "national.toml").is_file():
        return packaged
    return Path(__file__).resolve().parents[3] / "policies"


def policy_files_in(directory: Path) -> list[Path]:
    """``national.toml`` first, then every other ``*.toml`` below the directory, sorted."""
    others = sorted(p for p in directory.rglob("*.toml") if p.name != "national.toml")
    return [directory / "national.toml", *others]
