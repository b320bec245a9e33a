"""The curl walk-through of docs/api.md, replayed through the test client: every step must still
answer the status (and the object states) the doc shows, so the doc cannot silently rot.

The steps are the ```sh blocks between `<!-- walkthrough:start -->` and
`<!-- walkthrough:end -->`, each followed by `→ **<status> …**` and its answer. Only the few
shell forms the walk-through uses are understood (one curl per block, here-documents, `| tee F`,
`NAME=$(jq EXPR F)`); anything else fails loudly rather than being skipped."""

import json
import re
import shlex
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from mfapp.tenancy.selectors import system_actor
from mfapp.tenancy.services import api_key_create
from tests.factories import MachineFactory, SiteFactory

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
STEP = re.compile(
    r"^```sh\n(?P<script>.*?)^```\n+→ \*\*(?P<status>\d{3})[^*]*\*\*\n+```\w*\n(?P<answer>.*?)^```",
    re.S | re.M,
)
VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}")
ASSIGN_FROM_JQ = re.compile(r"^(\w+)=\$\(jq (.+)\)$")
TOP_LEVEL_STATUS = re.compile(r'^  "status": "(\w+)"', re.M)


def walkthrough() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split("<!-- walkthrough:start -->", 1)[1].split("<!-- walkthrough:end -->", 1)[0]


def walkthrough_steps() -> list[tuple[str, int, str]]:
    return [(m["script"], int(m["status"]), m["answer"]) for m in STEP.finditer(walkthrough())]


def jq(expression: str, document: str) -> object:
    """The subset of jq the doc uses: `.name` and `[index]` paths."""
    value = json.loads(document)
    for name, index in re.findall(r"\.(\w+)|\[(\d+)\]", expression):
        value = value[name] if name else value[int(index)]
    return value


class Shell:
    """Runs one walk-through block against the test client, keeping variables and files."""

    def __init__(self, client: APIClient, variables: dict[str, str]) -> None:
        self.client = client
        self.variables = variables
        self.files: dict[str, str] = {}

    def expand(self, text: str) -> str:
        def value(match: re.Match) -> str:
            name = match[1] or match[2]
            assert name in self.variables, f"${name} is used before a step sets it"
            return self.variables[name]

        return VARIABLE.sub(value, text)

    def commands(self, script: str) -> list[tuple[str, str | None]]:
        """(command line, here-document or None), joining continued and quoted lines."""
        lines, commands, buffer = script.splitlines(), [], ""
        while lines:
            line = lines.pop(0)
            buffer = f"{buffer}\n{line}" if buffer else line
            if buffer.endswith("\\"):
                buffer = buffer[:-1]
                continue
            try:
                shlex.split(buffer, comments=True)
            except ValueError:  # a quoted string goes on over the next line
                continue
            heredoc = None
            if "<<EOF" in buffer:
                end = lines.index("EOF")
                heredoc, lines = "\n".join(lines[:end]) + "\n", lines[end + 1 :]
            commands.append((buffer, heredoc))
            buffer = ""
        assert not buffer, f"unfinished command: {buffer!r}"
        return commands

    def run(self, script: str):
        response = None
        for command, heredoc in self.commands(script):
            assignment = ASSIGN_FROM_JQ.match(command.strip())
            if assignment:
                name, args = assignment[1], shlex.split(assignment[2])
                expression, filename = args[-2], args[-1]
                self.variables[name] = json.dumps(jq(expression, self.files[filename]))
                continue
            words = shlex.split(self.expand(command), comments=True)
            stdin = self.expand(heredoc) if heredoc is not None else None
            if words[0] == "cat" and words[1] == ">":
                self.files[words[2]] = stdin
            elif words[0] == "curl":
                assert response is None, "one curl per walk-through block"
                response = self.curl(words[1:], stdin)
            else:
                raise AssertionError(f"the doc test does not understand: {command!r}")
        assert response is not None, "a walk-through block without curl"
        return response

    def curl(self, words: list[str], stdin: str | None):
        method, path, body, headers, tee = None, None, None, {}, None
        words = iter(words)
        for word in words:
            if word in ("-sS", "-s", "-S", "-i"):
                continue
            if word == "-X":
                method = next(words)
            elif word == "-H":
                name, _, value = next(words).partition(":")
                headers[name.strip()] = value.strip()
            elif word == "-d":
                body = next(words)
                if body.startswith("@"):  # curl -d @file drops the line breaks
                    body = stdin if body == "@-" else self.files[body[1:]]
                    body = body.replace("\r", "").replace("\n", "")
            elif word.startswith("<<"):
                continue
            elif word == "|":
                assert next(words) == "tee", "only `| tee FILE` is understood after curl"
                tee = next(words)
            elif word.startswith("-"):
                raise AssertionError(f"curl option {word} is not understood by the doc test")
            else:
                path = word
        assert (path or "").startswith("/api/"), f"unexpected URL {path!r}"
        method = method or ("POST" if body is not None else "GET")
        content_type = headers.pop("Content-Type", "application/octet-stream")
        extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
        response = self.client.generic(
            method, path, data=(body or "").encode(), content_type=content_type, **extra
        )
        if tee:
            self.files[tee] = response.content.decode()
        return response


@pytest.fixture
def shell(tenant):
    """A tenant shaped like the walk-through's: two German sites, a free FDM printer in the one
    first by name, and a read-write key."""
    berlin = SiteFactory(tenant=tenant, name="Berlin Kreuzberg", country="DE")
    SiteFactory(tenant=tenant, name="Leipzig Plagwitz", country="DE")
    MachineFactory(tenant=tenant, site=berlin, name="Prusa MK4 #1")
    _, raw_key = api_key_create(actor=system_actor(tenant=tenant), name="curl walk-through")
    return Shell(APIClient(), {"BASE": "", "MFAPP_KEY": raw_key})


def test_every_walkthrough_block_documents_its_answer():
    blocks = re.findall(r"^```sh\n", walkthrough(), re.M)
    assert len(blocks) >= 10
    assert len(walkthrough_steps()) == len(blocks), "a ```sh block without `→ **<status>**`"


@pytest.mark.django_db
def test_the_walkthrough_answers_as_documented(shell):
    for number, (script, documented_status, answer) in enumerate(walkthrough_steps(), 1):
        response = shell.run(script)
        where = f"walk-through block {number}:\n{script}"
        assert response.status_code == documented_status, f"{where}\n{response.content[:500]!r}"
        documented_state = TOP_LEVEL_STATUS.search(answer)
        if documented_state:
            assert response.json()["status"] == documented_state[1], where
        if "Idempotent-Replayed: true" in answer:
            assert response.headers.get("Idempotent-Replayed") == "true", where
