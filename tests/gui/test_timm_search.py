"""Step 2 offers any timm model: a searchable list of the pretrained ones, added on Enter."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tlstudio.gui.sidebar.backbone_panel import BackbonePanel

VIT = "timm:test_vit.r160_in1k"


def test_a_timm_model_is_searched_and_chosen(qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))  # empty: weights to download
    panel = BackbonePanel()
    qtbot.addWidget(panel)
    panel.show()
    names = panel.timm_search.completer().model().stringList()
    assert VIT in names and len(names) > 1000
    with qtbot.waitSignal(panel.backboneChanged) as changed:
        qtbot.keyClicks(panel.timm_search, "test_vit.r160_in1k")
        qtbot.keyClick(panel.timm_search, Qt.Key.Key_Return)
    assert changed.args == [VIT] and panel.backbone() == VIT
    assert panel.input_size() == 160  # from the model's pretrained config
    assert panel.download_button.isVisible()  # not cached: Download weights is offered
    assert panel.timm_search.text() == ""


def test_a_name_timm_does_not_know_leaves_the_choice(qtbot) -> None:
    panel = BackbonePanel()
    qtbot.addWidget(panel)
    before = panel.backbone()
    qtbot.keyClicks(panel.timm_search, "no_such_model")
    qtbot.keyClick(panel.timm_search, Qt.Key.Key_Return)
    assert panel.backbone() == before
    assert "not a timm model" in panel.timm_search.toolTip()
