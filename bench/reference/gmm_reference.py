"""scikit-learn reference for `reweight bench gmm`: fits the same points with GaussianMixture (full covariances,
same K, restarts, tolerance and regularisation) and compares mean log-likelihoods and matched components.
Used only for comparison in benchmarks."""
import itertools
import json
import sys
import time

import numpy as np
from sklearn.mixture import GaussianMixture


def mean_log_likelihood(x, weights, means, covs):
    logs = []
    for w, m, c in zip(weights, means, covs):
        c = np.asarray(c)
        diff = x - np.asarray(m)
        inv = np.linalg.inv(c)
        maha = np.einsum("ni,ij,nj->n", diff, inv, diff)
        logs.append(np.log(w) - 0.5 * (x.shape[1] * np.log(2 * np.pi) + np.log(np.linalg.det(c)) + maha))
    logs = np.stack(logs, axis=1)
    top = logs.max(axis=1, keepdims=True)
    return float(np.mean(top[:, 0] + np.log(np.exp(logs - top).sum(axis=1))))


def main(points_path, ours_path, out_path):
    x = np.fromfile(points_path, dtype="<f8").reshape(-1, 2)
    ours = json.load(open(ours_path))
    t0 = time.perf_counter()
    gm = GaussianMixture(n_components=3, covariance_type="full", tol=1e-6, reg_covar=1e-6, max_iter=300, n_init=3, random_state=0).fit(x)
    seconds = time.perf_counter() - t0
    ref_ll = float(gm.score(x))
    ours_ll_numpy = mean_log_likelihood(x, ours["weights"], ours["means"], ours["covariances"])
    best = min(itertools.permutations(range(3)),
               key=lambda p: sum(np.linalg.norm(np.asarray(ours["means"][i]) - gm.means_[p[i]]) for i in range(3)))
    mean_diff = max(float(np.linalg.norm(np.asarray(ours["means"][i]) - gm.means_[best[i]])) for i in range(3))
    weight_diff = max(abs(ours["weights"][i] - float(gm.weights_[best[i]])) for i in range(3))
    cov_diff = max(float(np.abs(np.asarray(ours["covariances"][i]) - gm.covariances_[best[i]]).max()) for i in range(3))
    result = {"sklearn_seconds": seconds, "sklearn_mean_log_likelihood": ref_ll, "ours_mean_log_likelihood": ours["mean_log_likelihood"],
              "ours_mean_log_likelihood_by_numpy": ours_ll_numpy, "log_likelihood_difference": ours["mean_log_likelihood"] - ref_ll,
              "max_matched_mean_distance": mean_diff, "max_matched_weight_difference": weight_diff, "max_matched_covariance_difference": cov_diff}
    json.dump(result, open(out_path, "w"), indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:4])
