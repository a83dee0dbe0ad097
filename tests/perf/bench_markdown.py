"""Time render_markdown on 8 KB articles. Run by hand, not collected by pytest:

    .venv/bin/python -m tests.perf.bench_markdown

Two inputs: prose shaped like the demo articles, and a dense one (a link, inline code and bold in
every sentence, tables and code blocks) that works the sanitizer hardest.
"""

from __future__ import annotations

import os
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from knowledge.demo_articles import ARTICLES
    from knowledge.markdown import render_markdown

    prose = "\n".join(
        "\n\n".join([f"## {a.title}", a.symptoms, a.cause, a.resolution, a.prevention, a.body])
        for a in ARTICLES
    )
    sentence = (
        "Checkout answers **503** after a deploy; see [the runbook](https://example.com/rb) "
        "and run `kubectl rollout undo deploy/checkout`. "
    )
    block = (
        f"## Step\n\n{sentence * 3}\n\n- one\n- two *three*\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\ncode <x>\n```\n\n"
    )
    for name, text in (("prose", prose), ("dense", block * 40)):
        while len(text) < 8192:
            text += text
        text = text[:8192]
        render_markdown(text)
        runs = 300
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(runs):
            render_markdown(text)
        took = (time.perf_counter() - started) / runs * 1000
        cpu = (time.process_time() - cpu_started) / runs * 1000
        # CPU time is the steadier figure when other work shares the machine.
        print(f"{name}: {len(text.encode())} bytes, {took:.2f} ms per render ({cpu:.2f} ms CPU)")


if __name__ == "__main__":
    main()
