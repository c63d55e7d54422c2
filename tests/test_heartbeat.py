"""Off a terminal (a log file, a pipe, a batch job) long work prints a progress line now and then."""

from __future__ import annotations

import time


def test_a_running_task_prints_a_heartbeat_line_off_a_terminal(capsys):
    from disbench.cli.output import RichProgress

    with RichProgress(heartbeat_seconds=0.05) as progress:
        task = progress.task("train factor-vae", total=300)
        task.advance(120, loss=0.53)
        time.sleep(0.3)
        task.close()
        time.sleep(0.15)  # a closed task is not reported any more
        silent_from = len(capsys.readouterr().err.splitlines())
    err = capsys.readouterr().err
    assert not err.strip()  # nothing after the task closed, and no blank line at the end
    assert silent_from >= 2


def test_heartbeat_lines_say_what_how_far_and_how_long(capsys):
    from disbench.cli.output import RichProgress

    with RichProgress(heartbeat_seconds=0.05) as progress:
        task = progress.task("train factor-vae", total=300)
        task.advance(120, loss=0.53)
        [line] = progress.heartbeat_lines()
        task.close()
    assert "train factor-vae: 120/300 (40%), 0m00s elapsed, loss 0.53" in line


def test_quiet_prints_no_heartbeat(capsys):
    from disbench.cli.output import RichProgress

    with RichProgress(quiet=True, heartbeat_seconds=0.01) as progress:
        progress.task("train pca", total=3)
        time.sleep(0.1)
    assert capsys.readouterr().err == ""


def test_a_long_training_on_a_pipe_is_not_silent(cli, monkeypatch):
    import disbench.cli.output as output

    monkeypatch.setattr(output, "HEARTBEAT_SECONDS", 0.02)
    result = cli("train", "-m", "beta-vae", "-d", "synthetic", "--steps", "12", "--set", "batch_size=8",
                 "--set", "hidden=8", "--device", "cpu")
    assert result.exit_code == 0, result.output
    beats = [line for line in result.stderr.splitlines() if "train beta-vae:" in line and "elapsed" in line]
    assert beats and "/12 (" in beats[0]
