"""The calibration's pure parts on hand-checked data."""

import numpy as np
import pytest

from evals.calibrate import FEATURES, auc, choose_threshold, corrupt, fit_logistic, support_threshold

pytestmark = pytest.mark.unit


def test_auc_exact_values():
    assert auc(np.array([0.9, 0.8, 0.1, 0.2]), np.array([1, 1, 0, 0])) == 1.0
    assert auc(np.array([0.1, 0.2, 0.9, 0.8]), np.array([1, 1, 0, 0])) == 0.0
    assert auc(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5


def test_threshold_refuses_most_while_false_refusals_stay_in_bound():
    p = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2])
    y = np.array([1, 1, 1, 1, 0, 1, 0, 0])
    t = choose_threshold(p, y, max_false_refusal=0.2)  # one of five answerable may be refused
    assert t == 0.6
    assert choose_threshold(p, y, max_false_refusal=0.0) == 0.4


def test_logistic_fit_separates_separable_data():
    rng = np.random.default_rng(0)
    X = rng.random((200, len(FEATURES)))
    y = (X[:, 0] > 0.5).astype(float)
    fit = fit_logistic(X, y, np.ones(len(y)))
    assert fit.weights["q_cov"] > 3 and abs(fit.weights["margin"]) < 1


def test_corrupt_changes_one_fact():
    assert corrupt("It peaked at No. 14 in 1971.", 0) == "It peaked at No. 21 in 1971."
    assert corrupt("The song was covered by many artists.", 1) == "The song was not covered by many artists."
    swapped = corrupt("Crosby and Graham Nash sang.", 2)
    assert swapped != "Crosby and Graham Nash sang." and "Crosby" in swapped


def test_support_threshold_keeps_the_required_recall():
    pos = [0.9, 0.8, 0.7, 0.6, 0.35]
    neg = [0.1, 0.2, 0.5, 0.55, 0.65]
    t, balanced = support_threshold(pos, neg, min_recall=0.8)
    assert t == pytest.approx(0.56) and balanced == pytest.approx(0.8)  # keeps 4/5 supported, rejects 4/5
    t_all, _ = support_threshold(pos, neg, min_recall=1.0)
    assert t_all <= 0.35  # every supported sentence must pass


def test_balanced_threshold_counts_the_other_rules_and_respects_the_bound():
    from evals.calibrate import balanced_threshold, rates

    p = np.array([0.9, 0.8, 0.7, 0.3, 0.6, 0.2, 0.1])
    y = np.array([1, 1, 1, 1, 0, 0, 0])
    none = np.zeros(7, dtype=bool)
    # t=0.7 refuses 0.6/0.2/0.1 (all unanswerable) and the answerable 0.3: gain 1.0 - 0.25
    assert balanced_threshold([(p, y, none)], max_false_refusal=0.25) == 0.7
    assert balanced_threshold([(p, y, none)], max_false_refusal=0.0) == 0.3  # no answerable one may be refused
    ruled = np.array([False, False, False, True, False, False, False])  # another rule refuses the 0.3 anyway
    assert rates(p, y, 0.0, ruled)["false_refusal"] == 0.25
    assert balanced_threshold([(p, y, ruled)], max_false_refusal=0.2) == 0.0  # the rules alone exceed the bound


def test_balanced_threshold_counts_false_refusals_of_a_split_with_answerable_questions_only():
    from evals.calibrate import balanced_threshold

    p = np.array([0.9, 0.8, 0.3, 0.6, 0.2])
    y = np.array([1, 1, 1, 0, 0])
    none = np.zeros(5, dtype=bool)
    alone = balanced_threshold([(p, y, none)], max_false_refusal=0.4)
    assert alone > 0.6  # refusing the answerable 0.3 buys the unanswerable 0.6: 1.0 - 1/3 beats 0.5 - 0
    hops = np.array([0.55, 0.65, 0.5, 0.9])  # a multi-hop split: every question answerable, several near 0.6
    with_hops = balanced_threshold([(p, y, none), (hops, np.ones(4), np.zeros(4, dtype=bool))], max_false_refusal=0.4)
    assert with_hops < alone  # its false refusals count too: the threshold no longer refuses three of its four
    # alone, a split of answerable questions only is best served by refusing none of it
    assert balanced_threshold([(hops, np.ones(4), np.zeros(4, dtype=bool))], max_false_refusal=0.0) == 0.0


def test_refusing_a_question_the_service_would_answer_wrongly_can_cost_less():
    from evals.calibrate import balanced_threshold, rates

    # y: 1 answered right, 0.5 answered wrongly, 0 unanswerable; the unanswerable 0.5 sits above two answerable ones
    p = np.array([0.9, 0.45, 0.4, 0.5, 0.1])
    y = np.array([1, 1, 0.5, 0, 0])
    none = np.zeros(5, dtype=bool)
    # every false refusal costing 1, refusing the 0.5 (and so 0.45 and 0.4) is not worth it: refuse the 0.1 only
    assert balanced_threshold([(p, y, none)], max_false_refusal=0.7) == 0.4
    # refusing the wrongly answered 0.4 costing nothing, refusing everything under 0.9 gains 1 - 1/3
    assert balanced_threshold([(p, y, none)], max_false_refusal=0.7, wrong_cost=0.0) == 0.9
    got = rates(p, y, 0.6, none)
    assert got["false_refusal"] == round(2 / 3, 4) and got["right_answers_refused"] == 0.5
    assert (got["n_answerable"], got["n_answered_right"], got["n_unanswerable"]) == (3, 2, 2)
