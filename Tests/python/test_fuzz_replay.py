"""Replays the fuzzing seed corpus and every saved finding (Tests/fuzz/findings/TARGET/*) through the
harnesses, built without libFuzzer: each input must end in a value or an error, never a crash."""
import os
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

REPLAY = ROOT / ".build" / "release" / "onyx-fuzz"
FINDINGS = ROOT / "Tests" / "fuzz" / "findings"
CORPUS = sorted((ROOT / "Tests" / "fuzz" / "corpus").glob("*"))


def replay(target, files):
    assert REPLAY.exists(), f"{REPLAY} is missing: build with scripts/build.sh"
    result = subprocess.run([str(REPLAY), *map(str, files)], capture_output=True, text=True, timeout=600, cwd=ROOT,
                            env={**os.environ, "ONYX_FUZZ_TARGET": target})
    assert result.returncode == 0, f"{target} crashed (exit {result.returncode}): {result.stderr[-2000:]}"
    assert result.stdout.strip() == f"replayed {len(files)} inputs through '{target}'"


@pytest.mark.parametrize("target", ["decode", "load"])
def test_seed_corpus_replays(target):
    replay(target, CORPUS)


@pytest.mark.parametrize("target", ["decode", "load", "run"])
def test_saved_findings_replay(target):
    files = sorted(p for p in (FINDINGS / target).glob("*") if p.is_file()) if (FINDINGS / target).exists() else []
    if not files:
        pytest.skip(f"no findings saved for {target}")
    replay(target, files)
