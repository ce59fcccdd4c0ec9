"""The imbalance sentence the window and the log show, for classes of equal size."""

from __future__ import annotations

from tlstudio.data.imbalance import class_imbalance


def test_equal_classes_are_not_described_as_one_class_against_itself() -> None:
    text = class_imbalance({"0": 4, "1": 4, "2": 4}).describe()
    assert text == "Classes are balanced: each has 4 images"


def test_uneven_classes_name_the_largest_and_the_smallest() -> None:
    text = class_imbalance({"many": 12, "few": 2}).describe()
    assert "'many' has 12 images, 'few' has 2" in text
