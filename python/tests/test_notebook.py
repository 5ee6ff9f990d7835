"""In a notebook (a running event loop, output captured by the kernel): log, use, download,
with the progress bar."""

from __future__ import annotations

import os
import pathlib

import nbformat
from nbclient import NotebookClient


def test_a_notebook_logs_uses_and_downloads(
    env: dict[str, str], project: str, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "weights.bin").write_bytes(os.urandom(3 << 20))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import asyncio, wanllmdb\n"
            "asyncio.get_running_loop()  # Jupyter's own loop is running\n"
            f"run = wanllmdb.init(project={project!r}, quiet=False)"
        ),
        nbformat.v4.new_code_cell(
            "art = wanllmdb.Artifact('nb-model', type='model')\n"
            "art.add_file('weights.bin')\n"
            "run.log_artifact(art)\n"
            "print(art.version, art.size)"
        ),
        nbformat.v4.new_code_cell(
            "used = run.use_artifact('nb-model:latest')\n"
            "root = used.download('restored')\n"
            "print(open(root + '/weights.bin', 'rb').read() == open('weights.bin', 'rb').read())"
        ),
    ]
    saved = dict(os.environ)
    os.environ.update(env)
    os.environ.pop("WANLLMDB_QUIET", None)
    # A bar from the first tick (a short transfer shows none by default).
    os.environ["WANLLMDB_PROGRESS_DELAY"] = "0"
    try:
        client = NotebookClient(
            nb,
            timeout=120,
            kernel_name="python3",
            resources={"metadata": {"path": str(tmp_path)}},
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    outputs = [
        "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        for cell in nb.cells
    ]
    assert "v0 3145728" in outputs[1]
    assert outputs[2].strip().endswith("True")
    # tqdm drew a bar (text on stderr without ipywidgets, a widget with it).
    bars = [
        o
        for cell in nb.cells[1:]
        for o in cell.outputs
        if o.get("name") == "stderr" or o.get("output_type") == "display_data"
    ]
    assert bars, f"no progress bar in {[c.outputs for c in nb.cells]}"
