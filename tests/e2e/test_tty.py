"""The progress bar as a terminal shows it: `regula train` inside a tmux pane of 80 and of
50 columns, the screen read back with `tmux capture-pane` while the second epoch runs.

At 80 columns the bar line holds the bar, the batch count, loss and accuracy, the epoch's
ETA, images/s and the run's ETA, in one line that does not wrap; at 50 columns the fields
that do not fit are left out, never wrapped. The header lines fit 80 columns too.

usage: test_tty.py REGULA_BINARY
"""
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

REGULA = None
TMUX = shutil.which("tmux")


def screen_during_epoch_2(cols):
    """The pane's text once the second epoch's bar has moved past its first batches."""
    sock = f"regula-tty-{os.getpid()}-{cols}"
    cmd = (f"{REGULA} train --model mlp:512,256 --train-limit 30000 --epochs 3 --threads 2 "
           f"--no-test --seed 1; sleep 30")
    subprocess.run([TMUX, "-L", sock, "new-session", "-d", "-x", str(cols), "-y", "16", cmd],
                   check=True, env=dict(os.environ, TERM="xterm"))
    try:
        text = ""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = subprocess.run([TMUX, "-L", sock, "capture-pane", "-p"],
                                  capture_output=True, text=True).stdout
            if re.search(r"^epoch 2/3 .*\b\d{2,}/\d+ ", text, re.M):
                return text
            time.sleep(0.05)
        raise AssertionError(f"no bar of epoch 2 seen in {cols} columns:\n{text}")
    finally:
        subprocess.run([TMUX, "-L", sock, "kill-server"], capture_output=True)


class ProgressBar(unittest.TestCase):
    def test_80_columns_holds_every_field_on_one_line(self):
        text = screen_during_epoch_2(80)
        bar = [l for l in text.splitlines() if l.startswith("epoch 2/3 ")]
        self.assertEqual(len(bar), 1, text)
        line = bar[0]
        self.assertLessEqual(len(line), 79, line)
        self.assertRegex(line, r"^epoch 2/3 \[=*>? *\] \d+/211 loss \d\.\d{4} acc \d\.\d{4} "
                               r"ETA \d+:\d\d \d+ img/s run \d+:\d\d$")
        # the header: whole lines, none wrapped
        lines = text.splitlines()
        self.assertIn("regula ", lines[0])
        self.assertTrue(lines[0].endswith("mlp:512,256 on fashion-mnist"), lines[0])
        self.assertRegex(lines[1], r"^  27000 train, 3000 val, 10000 test images; 535818 "
                                   r"parameters$")
        self.assertRegex(lines[2], r"^  sgd lr 0.05, batch 128, 2 threads \(OpenBLAS \w+\)$")
        self.assertEqual(lines[3].split(), ["layer", "type", "output", "params",
                                            "regularized", "by"])
        # the epoch table: its heads, then epoch 1's row, no penalty column without a
        # regularizer; no line of the screen wrapped (tmux would fill the 80th column)
        self.assertRegex(text, r"\nepoch  train loss     acc   penalty  val loss     acc  "
                               r"seconds\n    1      \d\.\d{4}  \d\.\d{4}         -    "
                               r"\d\.\d{4}  \d\.\d{4}  +\d+\.\d\d\n")
        for l in lines:
            self.assertLess(len(l), 80, l)
        print("\n" + text.rstrip() + "\n")  # what the README shows

    def test_50_columns_leaves_fields_out_and_never_wraps(self):
        text = screen_during_epoch_2(50)
        bar = [l for l in text.splitlines() if l.startswith("epoch 2/3 ")]
        self.assertEqual(len(bar), 1, text)
        self.assertLessEqual(len(bar[0]), 49, bar[0])
        self.assertRegex(bar[0], r"^epoch 2/3 \[=*>? *\] \d+/211 loss \d\.\d{4} acc \d\.\d{4}$")


if __name__ == "__main__":
    REGULA = sys.argv.pop(1)
    if not TMUX:
        sys.exit("test_tty: tmux not found (./run.sh installs it)")
    unittest.main(verbosity=2)
