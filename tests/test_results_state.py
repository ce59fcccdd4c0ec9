"""The Results tab's state without a widget: following a training run, looking back at an
epoch, the saved model's epoch at the end, opening a run, labelled folders that fail or are
cancelled."""

from __future__ import annotations

from types import SimpleNamespace

from tlstudio.evaluation.results_state import Load, ResultsState, ShownResults

CLASSES = ("blue", "green", "red")


def results(epoch: int | None, epochs: int = 0, model_epoch: int | None = None,
            name: str = "", classes: tuple[str, ...] = CLASSES) -> ShownResults:
    """What a load brings; the state reads only the classes of its evaluation."""
    evaluation = SimpleNamespace(name=f"evaluation {name or epoch}",
                                 evaluation=SimpleNamespace(classes=classes))
    return ShownResults(evaluation, epoch, epochs, model_epoch)  # type: ignore[arg-type]


def trained_epochs(*epochs: int) -> ResultsState:
    """A training run whose epochs ended and were each shown."""
    state = ResultsState.training_started("/runs/a")
    for epoch in epochs:
        state = state.epoch_ended(epoch)
        state = state.results_arrived(results(epoch, epoch))
    return state


def test_training_is_followed_while_the_user_looks_at_the_latest_epoch() -> None:
    state = ResultsState.training_started("/runs/a")
    assert state.training and state.epochs == 0 and state.epoch_caption() == "No epoch yet"
    state = state.epoch_ended(1)
    assert state.loading == Load("epoch", epoch=1) and state.epoch == 1
    state = state.results_arrived(results(1, 1))
    assert state.loading is None and state.shown_epoch == 1
    assert state.shown.name == "evaluation 1"
    state = state.epoch_ended(2)
    assert (state.epochs, state.epoch, state.loading) == (2, 2, Load("epoch", epoch=2))
    assert state.epoch_caption() == "Epoch 2 of 2"


def test_looking_back_stops_following_but_the_slider_grows() -> None:
    state = trained_epochs(1, 2).epoch_chosen(1).results_arrived(results(1, 1))
    state = state.epoch_ended(3)
    assert (state.epochs, state.epoch, state.shown_epoch) == (3, 1, 1)
    assert state.loading is None  # nothing new is fetched for the user's back-look


def test_the_end_of_training_shows_the_saved_model_epoch() -> None:
    state = trained_epochs(1, 2, 3).training_finished(2)
    assert not state.training and state.model_epoch == 2
    assert state.epoch == 2 and state.loading == Load("epoch", epoch=2)
    state = state.results_arrived(results(2, 2))
    assert state.epoch_caption() == "Epoch 2 of 3 · the saved model"
    assert not state.saved_model_differs()
    assert state.epoch_chosen(3).results_arrived(results(3, 3)).saved_model_differs()


def test_a_failed_or_stopped_run_without_model_keeps_what_is_shown() -> None:
    before = trained_epochs(1, 2)
    after = before.training_finished(None)
    assert not after.training and after.model_epoch is None
    assert (after.epoch, after.shown, after.loading) == (2, before.shown, None)


def test_epochs_arriving_for_a_run_not_training_are_ignored() -> None:
    state = trained_epochs(1).training_finished(1)
    assert state.epoch_ended(5) == state


def test_an_opened_run_learns_its_epochs_and_saved_model_from_the_load() -> None:
    state = ResultsState.opened("/runs/b")
    assert state.loading == Load("open") and not state.training
    state = state.results_arrived(results(3, epochs=5, model_epoch=3))
    assert (state.epochs, state.epoch, state.model_epoch, state.shown_epoch) == (5, 3, 3, 3)
    assert state.epoch_caption() == "Epoch 3 of 5 · the saved model"


def test_a_folder_is_offered_once_and_shown_when_evaluated() -> None:
    state = ResultsState.opened("/runs/b").results_arrived(results(2, 2, model_epoch=2))
    state = state.folder_chosen("/data/new")
    assert state.loading == Load("model", folder="/data/new")
    state = state.results_arrived(results(None, name="folder"))
    assert state.shown_folder == "/data/new" and state.shown_epoch is None
    state = state.folder_chosen("/data/new")
    assert state.folders == ("/data/new",)
    # Moving the slider goes back to the validation images.
    state = state.epoch_chosen(1)
    assert state.folder is None and state.loading == Load("epoch", epoch=1)


def test_a_folder_that_fails_before_showing_is_no_longer_offered() -> None:
    shown = ResultsState.opened("/runs/b").results_arrived(results(2, 2, model_epoch=2))
    failed = shown.folder_chosen("/data/broken").load_failed()
    assert failed.folders == () and failed.folder is None and failed.loading is None
    assert failed.shown == shown.shown


def test_a_folder_shown_before_stays_offered_when_its_reevaluation_fails() -> None:
    state = ResultsState.opened("/runs/b").results_arrived(results(2, 2, model_epoch=2))
    state = state.folder_chosen("/data/ok").results_arrived(results(None, name="ok"))
    state = state.folder_chosen("/data/ok").load_failed()
    assert state.folders == ("/data/ok",) and state.folder == "/data/ok"


def test_cancelling_a_folder_evaluation_returns_to_what_is_on_screen() -> None:
    shown = ResultsState.opened("/runs/b").results_arrived(results(2, 2, model_epoch=2))
    state = shown.folder_chosen("/data/big").evaluation_cancelled()
    assert state.folder is None and state.loading is None and state.shown == shown.shown


def test_choosing_the_validation_images_again_fetches_the_slider_epoch() -> None:
    state = ResultsState.opened("/runs/b").results_arrived(results(2, 4, model_epoch=2))
    state = state.folder_chosen("/data/x").results_arrived(results(None, name="x"))
    state = state.validation_chosen()
    assert state.folder is None and state.loading == Load("epoch", epoch=2)
    no_epochs = ResultsState.opened("/runs/c").results_arrived(results(None, name="model"))
    assert no_epochs.validation_chosen().loading == Load("open")


def test_the_opened_cell_stays_while_its_classes_are_shown() -> None:
    state = trained_epochs(1).cell_opened("red", "blue")
    state = state.epoch_ended(2).results_arrived(results(2, 2))
    assert state.cell == ("red", "blue")
    state = state.folder_chosen("/data/no_red").results_arrived(
        results(None, name="no red", classes=("blue", "green")))
    assert state.cell is None
    assert ResultsState.training_started("/runs/next").cell is None


def shown_results(epoch: int, accuracy: float) -> ShownResults:
    evaluation = SimpleNamespace(
        images="the validation images & more", skipped=("x.png",),
        evaluation=SimpleNamespace(classes=CLASSES, accuracy=accuracy, total=12,
                                   absent_note=lambda: ""))
    return ShownResults(evaluation, epoch, epoch)  # type: ignore[arg-type]


def test_the_summary_names_the_saved_model_only_when_another_epoch_is_shown() -> None:
    state = ResultsState.training_started("/runs/a").epoch_ended(1)
    state = state.results_arrived(shown_results(1, 0.25)).epoch_ended(2)
    state = state.results_arrived(shown_results(2, 0.5)).training_finished(1)
    state = state.results_arrived(shown_results(1, 0.25))
    assert state.summary_html() == ("<b>Accuracy 25.0%</b> on 12 images: the validation "
                                    "images &amp; more (1 unreadable files left out).")
    state = state.epoch_chosen(2).results_arrived(shown_results(2, 0.5))
    assert state.summary_html(0.25).endswith(
        "<br>The saved model is epoch 1's (25.0% on these images).")
    assert ResultsState().summary_html() == ""
