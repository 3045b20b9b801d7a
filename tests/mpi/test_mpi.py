"""Data-parallel training over Open MPI, as a user runs it: `mpirun -np 2 regula train`
against `regula train` on one process, same global batch and seed.

The ranks split every global batch and sum their gradients, so the only difference from one
process is the order of floating-point sums (each rank's half of a batch is summed, then the
halves are added); augmentation and dropout are keyed on the global sample index and give
the same images and masks. Tolerance for the weights after 2 epochs: |a - b| <= 1e-5 *
max|b| + 1e-7 per tensor; the differences measured on 2026-12-02 were at most 3e-7 of the
tensor's largest weight (see the README's "More than one machine").

usage: test_mpi.py REGULA_BINARY (REGULA_TEST_FIXTURES names the fixture plugin directory)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import numpy as np

REGULA = None
MPIRUN = shutil.which("mpirun")
FIXTURES = os.environ.get("REGULA_TEST_FIXTURES", "")

BASE = ["--data", "fashion-mnist", "--model", "mlp:48", "--train-limit", "1536",
        "--batch", "64", "--seed", "5", "--threads", "1", "--quiet", "--no-test",
        "--aug", "hflip", "--aug", "random_crop:padding=2",
        "--reg", "dropout:rate=0.2", "--reg", "l2:lambda=1e-3"]


def env():
    e = dict(os.environ)
    # a container has no ptrace-based single copy between processes; root needs the flags
    e.update(OMPI_MCA_btl_vader_single_copy_mechanism="none",
             OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
             OMPI_MCA_rmaps_base_oversubscribe="1")
    return e


def mpi(np_, args, timeout=300):
    cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none",
           "-np", str(np_), REGULA, "train"] + args
    return subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=timeout)


def plain(args, timeout=300):
    return subprocess.run([REGULA, "train"] + args, env=env(), capture_output=True, text=True,
                          timeout=timeout)


def weights(ckpt, tmp):
    out = os.path.join(tmp, os.path.basename(ckpt) + ".npz")
    r = subprocess.run([REGULA, "export", ckpt, "--npz", out], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with np.load(out) as z:
        return {k: z[k].copy() for k in z.files}


class DataParallel(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="regula-mpi-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assert_close(self, a, b, what):
        self.assertEqual(sorted(a), sorted(b))
        for k in a:
            tol = 1e-5 * float(np.max(np.abs(b[k]))) + 1e-7
            diff = float(np.max(np.abs(a[k] - b[k])))
            self.assertLessEqual(diff, tol, f"{what}: {k} differs by {diff:.3g} (tolerance "
                                            f"{tol:.3g})")

    def test_np2_ends_with_the_weights_of_one_process(self):
        one = os.path.join(self.tmp, "one.ckpt")
        two = os.path.join(self.tmp, "two.ckpt")
        r1 = plain(BASE + ["--epochs", "2", "--save", one])
        self.assertEqual(r1.returncode, 0, r1.stderr)
        r2 = mpi(2, BASE + ["--epochs", "2", "--save", two])
        self.assertEqual(r2.returncode, 0, r2.stdout + r2.stderr)
        self.assertIn("2 ranks x 1 threads", r2.stdout)
        self.assertEqual(r2.stdout.count("regula "), 1, "only rank 0 prints:\n" + r2.stdout)
        a, b = weights(two, self.tmp), weights(one, self.tmp)
        self.assert_close(a, b, "np=2 against one process")
        # the epochs' losses and accuracies (validation sharded over the ranks) as printed:
        # the rows of the epoch table without their seconds
        def epochs(text):
            return [line.rsplit("  ", 1)[0] for line in text.splitlines()
                    if re.match(r" *\d+  +\d+\.\d{4}  ", line)]
        self.assertEqual(len(epochs(r1.stdout)), 2, r1.stdout)
        self.assertEqual(epochs(r2.stdout), epochs(r1.stdout))
        # and the comparison can fail: a different seed is far outside the tolerance
        other = os.path.join(self.tmp, "other.ckpt")
        args = list(BASE)
        args[args.index("--seed") + 1] = "6"
        r3 = plain(args + ["--epochs", "2", "--save", other])
        self.assertEqual(r3.returncode, 0, r3.stderr)
        with self.assertRaises(AssertionError):
            self.assert_close(weights(other, self.tmp), b, "another seed")

    def test_np2_cnn_with_feature_map_dropouts_and_an_activity_penalty(self):
        # spatial_dropout and dropblock key their masks on the sample's place in the whole
        # batch (dropblock also counts the whole batch for its scale), activity_l1l2 divides
        # by the whole batch's rows (ABI 1.4): the same weights as one process
        args = ["--data", "fashion-mnist", "--model",
                "conv:6:3,relu,conv:6:3,relu,maxpool:2,flatten,dense:10",
                "--train-limit", "384", "--batch", "64", "--seed", "7", "--threads", "1",
                "--quiet", "--no-test", "--epochs", "2", "--aug", "hflip",
                "--reg", "spatial_dropout:rate=0.3,after=relu1",
                "--reg", "dropblock:drop_prob=0.2,block_size=3,after=relu2",
                "--reg", "activity_l1l2:l1=1e-3,l2=1e-3,after=maxpool1"]
        one = os.path.join(self.tmp, "one.ckpt")
        two = os.path.join(self.tmp, "two.ckpt")
        r1 = plain(args + ["--save", one])
        self.assertEqual(r1.returncode, 0, r1.stderr)
        r2 = mpi(2, args + ["--save", two])
        self.assertEqual(r2.returncode, 0, r2.stdout + r2.stderr)
        self.assert_close(weights(two, self.tmp), weights(one, self.tmp),
                          "CNN with spatial_dropout, dropblock, activity_l1l2: np=2 against 1")

    def test_np2_weight_transforms_gradient_hooks_and_sam_match_one_process(self):
        # ABI 1.5: the transforms' draws are keyed on (seed, epoch, step, tensor), their
        # gradient maps and the gradient hooks run after the ranks' sums, and SAM's second
        # evaluation is reduced across the ranks like the step's own
        args = ["--data", "fashion-mnist", "--model", "mlp:48,32", "--train-limit", "768",
                "--batch", "64", "--seed", "3", "--threads", "1", "--quiet", "--no-test",
                "--epochs", "2",
                "--reg", "dropconnect:rate=0.2,layers=dense1",
                "--reg", "weight_noise:stddev=0.01,layers=dense2",
                "--reg", "gradient_noise:eta=0.01",
                "--reg", "sam:rho=0.05"]
        one = os.path.join(self.tmp, "one.ckpt")
        two = os.path.join(self.tmp, "two.ckpt")
        r1 = plain(args + ["--save", one])
        self.assertEqual(r1.returncode, 0, r1.stderr)
        r2 = mpi(2, args + ["--save", two])
        self.assertEqual(r2.returncode, 0, r2.stdout + r2.stderr)
        self.assert_close(weights(two, self.tmp), weights(one, self.tmp),
                          "dropconnect, weight_noise, gradient_noise, sam: np=2 against 1")

    def test_np2_composed_augmenters_match_one_process(self):
        # ABI 1.6: a policy's composed augmenters draw from streams keyed per image, and
        # every rank augments the whole global batch
        args = ["--data", "fashion-mnist", "--model", "mlp:32", "--train-limit", "512",
                "--batch", "64", "--seed", "4", "--threads", "1", "--quiet", "--no-test",
                "--epochs", "1", "--aug", "trivial_augment", "--aug", "randaugment"]
        one = os.path.join(self.tmp, "one.ckpt")
        two = os.path.join(self.tmp, "two.ckpt")
        r1 = plain(args + ["--save", one])
        self.assertEqual(r1.returncode, 0, r1.stderr)
        r2 = mpi(2, args + ["--save", two])
        self.assertEqual(r2.returncode, 0, r2.stdout + r2.stderr)
        self.assert_close(weights(two, self.tmp), weights(one, self.tmp),
                          "trivial_augment, randaugment: np=2 against 1")

    def test_an_activation_penalty_built_against_abi_1_3_is_refused_at_np2(self):
        old = os.path.join(FIXTURES, "..", "abi-fixtures", "abi13_activity.so")
        self.assertTrue(os.path.exists(old), old)
        r = mpi(2, BASE + ["--epochs", "1", "--reg", old + ":l1=1e-3,after=relu1"],
                timeout=120)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("built against plugin ABI 1.3", r.stderr)
        self.assertIn("rebuilt against ABI 1.4", r.stderr)

    def test_a_checkpoint_of_np2_resumes_on_one_process(self):
        half = os.path.join(self.tmp, "half.ckpt")
        whole = os.path.join(self.tmp, "whole.ckpt")
        r = mpi(2, BASE + ["--epochs", "2", "--stop-after", "1", "--save", half])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = plain(["--resume", half])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = plain(BASE + ["--epochs", "2", "--save", whole])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_close(weights(half, self.tmp), weights(whole, self.tmp),
                          "np=2 then np=1 against np=1 throughout")

    def test_a_plugin_failing_on_one_rank_ends_every_rank(self):
        spec = os.path.join(FIXTURES, "fixture_rank_fail.so") + ":rank=1"
        t0 = time.monotonic()
        r = mpi(2, BASE + ["--epochs", "2", "--reg", spec], timeout=120)
        took = time.monotonic() - t0
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("rank_fail: failing on purpose", r.stderr)
        self.assertLess(took, 60, f"took {took:.1f} s to end")

    def test_a_rank_with_another_plugin_file_refuses_to_start(self):
        # rank 1 finds a hflip.so of other bytes first on its plugin path
        stock = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(REGULA))),
                             "lib", "regula", "plugins", "hflip.so")
        other = os.path.join(self.tmp, "plugins")
        os.mkdir(other, 0o755)
        copy = os.path.join(other, "hflip.so")
        shutil.copyfile(stock, copy)
        with open(copy, "ab") as f:
            f.write(b"not the same file")
        os.chmod(copy, 0o755)
        args = BASE + ["--epochs", "1"]
        cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none",
               "-np", "1", REGULA, "train"] + args + [":", "-np", "1", "env",
                                                      "REGULA_PLUGIN_PATH=" + other, REGULA,
                                                      "train"] + args
        t0 = time.monotonic()
        r = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=120)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("plugin hflip 1.0.0", r.stderr)
        self.assertIn("is not the same file on every rank", r.stderr)
        self.assertNotIn("epoch   1", r.stdout, "the run must not start")
        self.assertLess(time.monotonic() - t0, 60)

    def test_a_distributed_sweep_picks_the_sequential_winner(self):
        grid = ["--sweep", "l2.lambda=0,1e-2,1e-1", "--sweep", "lr=0.02,0.1", "--",
                "--data", "fashion-mnist", "--model", "mlp:32", "--train-limit", "1000",
                "--epochs", "2", "--reg", "l2", "--seed", "3"]
        seq, par = os.path.join(self.tmp, "seq"), os.path.join(self.tmp, "par")
        r1 = subprocess.run([REGULA, "sweep", "--dir", seq] + grid, env=env(),
                            capture_output=True, text=True, timeout=300)
        self.assertEqual(r1.returncode, 0, r1.stdout + r1.stderr)
        cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", "2",
               REGULA, "sweep", "--dir", par] + grid
        r2 = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=300)
        self.assertEqual(r2.returncode, 0, r2.stdout + r2.stderr)
        self.assertIn("on rank 1", r2.stdout, "rank 1 ran trials:\n" + r2.stdout)
        best = [line for line in r1.stdout.splitlines() if line.startswith("best on")]
        self.assertEqual(len(best), 1, r1.stdout)
        self.assertIn(best[0], r2.stdout)
        with open(os.path.join(seq, "sweep.csv")) as a, open(os.path.join(par, "sweep.csv")) as b:
            self.assertEqual(a.read().replace(seq, par), b.read())
        # resumable: the same command again trains nothing
        r3 = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=300)
        self.assertEqual(r3.returncode, 0, r3.stdout + r3.stderr)
        self.assertNotRegex(r3.stdout, r"val_loss [0-9.]+  [0-9.]+ s\n", r3.stdout)
        self.assertIn(best[0], r3.stdout)

    def test_data_parallel_trials_pick_the_sequential_winner(self):
        grid = ["--sweep", "l2.lambda=0,1e-1", "--sweep", "lr=0.02,0.1", "--",
                "--data", "fashion-mnist", "--model", "mlp:32", "--train-limit", "1000",
                "--epochs", "2", "--reg", "l2", "--seed", "3", "--threads", "1"]
        seq, par = os.path.join(self.tmp, "seq"), os.path.join(self.tmp, "par")
        r1 = subprocess.run([REGULA, "sweep", "--dir", seq] + grid, env=env(),
                            capture_output=True, text=True, timeout=300)
        self.assertEqual(r1.returncode, 0, r1.stdout + r1.stderr)
        cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", "2",
               REGULA, "sweep", "--dir", par, "--ranks-per-trial", "2"] + grid
        r2 = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=300)
        self.assertEqual(r2.returncode, 0, r2.stdout + r2.stderr)
        self.assertIn("each trial data-parallel on 2 ranks", r2.stdout)
        best = [line for line in r1.stdout.splitlines() if line.startswith("best on")]
        self.assertEqual(len(best), 1, r1.stdout)
        self.assertIn(best[0], r2.stdout)
        for t in range(1, 5):
            with open(os.path.join(par, f"trial-{t}.log")) as f:
                self.assertIn("2 ranks x 1 threads", f.read())
            a = weights(os.path.join(par, f"trial-{t}.ckpt"), self.tmp)
            b = weights(os.path.join(seq, f"trial-{t}.ckpt"), self.tmp)
            self.assert_close(a, b, f"trial {t} on 2 ranks against one process")
        # resumable: the same command again trains nothing
        r3 = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=300)
        self.assertEqual(r3.returncode, 0, r3.stdout + r3.stderr)
        self.assertEqual(r3.stdout.count("skipped, already done"), 4, r3.stdout)
        # groups must divide the ranks, and one process is no group
        r4 = subprocess.run([REGULA, "sweep", "--dir", par, "--ranks-per-trial", "2"] + grid,
                            env=env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(r4.returncode, 2, r4.stdout + r4.stderr)
        self.assertIn("--ranks-per-trial 2 needs mpirun -np N with N a multiple of 2",
                      r4.stderr)

    def test_a_data_parallel_trial_failing_on_one_rank_is_recorded_with_its_cause(self):
        spec = os.path.join(FIXTURES, "fixture_rank_fail.so") + ":rank=1"
        d = os.path.join(self.tmp, "fail")
        cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", "2",
               REGULA, "sweep", "--dir", d, "--ranks-per-trial", "2", "--sweep", "lr=0.02,0.1",
               "--", "--data", "fashion-mnist", "--model", "mlp:32", "--train-limit", "1000",
               "--epochs", "2", "--reg", spec, "--seed", "3", "--threads", "1"]
        t0 = time.monotonic()
        r = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=120)
        self.assertLess(time.monotonic() - t0, 60)
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("trial 1/2  lr=0.02  failed (exit 1): rank 1: regula: plugin rank_fail: "
                      "activation_forward() failed", r.stdout)
        self.assertIn("no trial has a val_accuracy", r.stderr)
        with open(os.path.join(d, "trial-2.log")) as f:
            log = f.read()
        self.assertIn("--- rank 1 of the trial ---", log)
        self.assertIn("failing on purpose", log)

    def test_a_trial_failing_on_another_rank_is_reported_not_run_again(self):
        # a sweep's trial on rank 1 inherits OMPI_COMM_WORLD_RANK=1: the fixture fails there
        spec = os.path.join(FIXTURES, "fixture_rank_fail.so") + ":rank=1"
        d = os.path.join(self.tmp, "one-fails")
        cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "--bind-to", "none", "-np", "2",
               REGULA, "sweep", "--dir", d, "--sweep", "lr=0.02,0.1", "--", "--data",
               "fashion-mnist", "--model", "mlp:32", "--train-limit", "1000", "--epochs", "2",
               "--reg", spec, "--seed", "3", "--threads", "1"]
        r = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"trial 2/2  lr=0.1  failed: .*failing on purpose.*  on rank 1")
        self.assertIn("best on val_accuracy: trial 1", r.stdout)
        self.assertEqual(r.stdout.count("trial 2/2"), 1, "trial 2 ran once:\n" + r.stdout)


if __name__ == "__main__":
    REGULA = sys.argv.pop(1)
    if not MPIRUN:
        sys.exit("test_mpi: mpirun not found (install openmpi-bin)")
    unittest.main(verbosity=2)
