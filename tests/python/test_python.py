"""The Python package over the embedding API (run by ctest with Debian's /usr/bin/python3).

    REGULA_LIBRARY=build/lib/libregula.so.0 PYTHONPATH=sdk/python python3 tests/python/test_python.py
"""
import os
import tempfile
import unittest

import numpy as np

import regula


def images(n, seed):
    """1x6x6 images of three classes: class k is a bright band on rows 2k, 2k+1."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.uniform(0, 0.6, size=(n, 1, 6, 6)).astype(np.float32)
    for k in range(3):
        x[y == k, 0, 2 * k:2 * k + 2, :] += 0.4
    return x, y


class PythonPackage(unittest.TestCase):
    def setUp(self):
        self.ctx = regula.Context(threads=1)
        self.dir = tempfile.TemporaryDirectory()
        x, y = images(300, 1)
        self.train = regula.Dataset.from_arrays(self.ctx, x, y)
        xt, yt = images(150, 2)
        self.test = regula.Dataset.from_arrays(self.ctx, xt, yt)
        self.xt, self.yt = xt, yt

    def tearDown(self):
        self.dir.cleanup()

    def run_(self, **kw):
        args = dict(model="mlp:16", epochs=4, batch=32, lr=0.1, val=0.2)
        args.update(kw)
        return regula.Run(self.ctx, train=self.train, test=self.test, **args)

    def test_fit_reports_each_epoch_and_learns(self):
        curve = []
        run = self.run_()
        res = run.fit(on_epoch=lambda e: curve.append((e["epoch"], e["val_accuracy"])))
        self.assertEqual([e for e, _ in curve], [1, 2, 3, 4])
        self.assertEqual(res["state"], "complete")
        self.assertEqual(res["train_examples"], 240)
        self.assertGreater(res["test"]["accuracy"], 0.9)
        self.assertEqual(len(run.history()), 4)
        self.assertEqual(self.train.shape, (300, 1, 6, 6, 3))

    def test_predict_matches_evaluate(self):
        run = self.run_()
        run.fit()
        probs = run.predict(self.xt)
        self.assertEqual(probs.shape, (150, 3))
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
        acc = float((probs.argmax(axis=1) == self.yt).mean())
        self.assertAlmostEqual(acc, run.evaluate(self.test)["accuracy"], places=12)

    def test_bad_keyword_values_raise_with_the_field_named(self):
        with self.assertRaises(regula.Error) as e:
            self.run_(epochs="ten")
        self.assertEqual(str(e.exception), "epochs ten: expected an integer")
        self.assertEqual(e.exception.status, "invalid")
        with self.assertRaises(regula.Error) as e:
            self.run_(epoch=3)
        self.assertIn("no recipe field named 'epoch'", str(e.exception))
        with self.assertRaises(regula.Error) as e:
            self.run_(reg=["nope"])
        self.assertIn("unknown plugin 'nope'", str(e.exception))

    def test_plugins_by_name_with_parameters_and_the_field_table(self):
        run = self.run_(epochs=2, reg=["l2:lambda=1e-3"], aug=["pixel_noise:stddev=0.02"])
        run.fit()
        self.assertGreater(run.history()[-1]["train_penalty"], 0.0)
        names = [f["name"] for f in regula.fields()]
        for key in ("epochs", "lr", "reg", "aug", "early_stop", "save"):
            self.assertIn(key, names)

    def test_save_resume_and_load(self):
        path = os.path.join(self.dir.name, "r.ckpt")
        whole = self.run_(optimizer="adam", lr=0.01)
        whole.fit()
        p_whole = whole.predict(self.xt)
        half = self.run_(optimizer="adam", lr=0.01, stop_after=2, save=path)
        self.assertEqual(half.fit()["state"], "paused")
        half.close()
        rest = regula.Run.resume(self.ctx, path, train=self.train, test=self.test, stop_after=0)
        self.assertEqual(rest.recipe("optimizer"), "adam")
        rest.fit()
        np.testing.assert_array_equal(rest.predict(self.xt), p_whole)
        with self.assertRaises(regula.Error) as e:
            regula.Run.resume(self.ctx, path, train=self.train, lr=0.5)
        self.assertIn("lr cannot change in a resumed run", str(e.exception))
        model = regula.Model(self.ctx, path)
        self.assertEqual(model.info()["spec"], "mlp:16")
        npz = os.path.join(self.dir.name, "w.npz")
        model.export_npz(npz)
        w = np.load(npz)
        self.assertEqual(w["dense1.weight"].shape, (16, 36))
        self.assertEqual(w["dense2.bias"].shape, (3,))

    def test_callback_exceptions_surface_in_python(self):
        def boom(e):
            raise RuntimeError("from the callback")
        with self.assertRaises(RuntimeError):
            self.run_().fit(on_epoch=boom)


if __name__ == "__main__":
    unittest.main()
