"""The rules reference (``docs/rules.md``), generated from the rule registry.

One entry per rule ID a finding can carry, in the order of the IDs: the cross-resource rules of
:data:`meshauth.validation.rules.registry.RULES` (what breaks at runtime and the fix are the check
function's docstring, a last paragraph starting ``Fix:``) and the warnings rendering reports about
the config (:data:`meshauth.validation.rules.renderwarnings.RENDER_WARNINGS`). A test fails when
the checked-in file is stale; regenerate it with::

    python -m meshauth.validation.rulesdoc > docs/rules.md
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from dataclasses import dataclass

from meshauth.findings import Severity
from meshauth.validation.rules.registry import RULES, Rule
from meshauth.validation.rules.renderwarnings import RENDER_WARNINGS

WIDTH = 100

HEADER = """\
# Rules: what the cluster would accept but get wrong

<!-- Generated from meshauth/validation/rules/ by `python -m meshauth.validation.rulesdoc > docs/rules.md`.
     Do not edit by hand: a test fails when this file is stale. -->

`meshauth validate` runs these checks on what meshauth renders (`validate CONFIG`) and on any
manifests (`validate --manifests PATH...`), offline, like `istioctl analyze` without a cluster.
Each finding reads `file: object: path: severity rule: message`; `--output json` gives the same
fields for machines. Any `error` makes the command exit 1; `warning`s do not.

The rules read the mesh configuration where Istio keeps it: an `IstioOperator` (`spec.meshConfig`),
istiod Helm values (`meshConfig`), or the `istio` ConfigMap (`data.mesh`). Rules that need it
(MA001, MA002 on providers, MA011 to MA014 on providers) stay silent when none is among the
manifests. A rule reports only what the manifests show for certain: when an answer depends on
something they do not tell (an IP block, a header, a workload's labels that are not in them),
it says nothing rather than guess. Versions: `--istio-version` (default: the config's, or an
IstioOperator's `spec.tag`) and `--kubernetes-version` (default: the config's, or 1.30).

How oauth2-proxy is recognised: any container whose image is named `oauth2-proxy`; its settings are
read from `command`, `args` (`--flag=value` or `--flag value`) and literal `OAUTH2_PROXY_*`
environment variables. When it is started with `--config`, settings that are absent may be in that
file, and rules that would report a missing setting stay silent.

MA061 to MA065 are not rules on manifests but warnings about the config: rendering reports them
(`meshauth render`, `validate CONFIG`) at the config key to change, and `validate --manifests`,
which has no config, cannot.

Schema findings (rule `schema`) come first: Kubernetes' own kinds against the strict schemas of the
target version, custom resources against meshauth's schemas (or `--crds`), see
[validation.md](validation.md).
"""


@dataclass(frozen=True)
class Entry:
    id: str
    severity: Severity
    title: str
    breaks: str  # Markdown paragraphs: what goes wrong at runtime
    fix: str


def rule_entry(rule: Rule) -> Entry:
    """A registry rule's entry: its check's docstring, split at the last paragraph (``Fix: ...``)."""
    doc = inspect.getdoc(rule.check) or ""
    breaks, marker, fix = doc.rpartition("\n\nFix: ")
    if not marker or not breaks.strip() or not fix.strip():
        raise ValueError(
            f"{rule.id}: the docstring of {rule.check.__module__}.{rule.check.__name__} must say "
            "what breaks at runtime, then end with a paragraph 'Fix: ...'"
        )
    return Entry(rule.id, rule.severity, rule.title, breaks, fix)


def entries() -> list[Entry]:
    """Every documented rule ID, in the order of the IDs."""
    found = [rule_entry(r) for r in RULES]
    found += [Entry(w.id, w.severity, w.title, w.breaks, w.fix) for w in RENDER_WARNINGS]
    return sorted(found, key=lambda e: e.id)


def _reflow(text: str) -> str:
    """Paragraphs wrapped at WIDTH; lists are kept as written."""
    paragraphs = []
    for paragraph in text.strip().split("\n\n"):
        if paragraph.lstrip().startswith("- "):
            paragraphs.append(paragraph)
        else:
            paragraphs.append(
                textwrap.fill(
                    " ".join(paragraph.split()), WIDTH, break_long_words=False, break_on_hyphens=False
                )
            )
    return "\n\n".join(paragraphs)


def entry_text(entry: Entry) -> str:
    return (
        f"## {entry.id} {entry.title}\n\n"
        f"{_reflow(f'Severity: {entry.severity}. {entry.breaks}')}\n\n"
        f"{_reflow(f'Fix: {entry.fix}')}\n"
    )


def rules_text() -> str:
    return "\n".join([HEADER, *(entry_text(e) for e in entries())])


if __name__ == "__main__":
    sys.stdout.write(rules_text())
