"""A run folder's one owner: the names of its files, their writers and readers, the value a
finished run is (`RunInfo`), and the claim a training process holds on its folder.

Names load on first use, so `runs.folder` (file names only) costs the CLI no torch import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "finished_epochs": "checkpoint",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "RunClaim": "claim",
    "RunFolderBusyError": "claim",
    "claim_free_run_folder": "claim",
    "claim_run_folder": "claim",
    "is_claimed": "claim",
    "RunFolder": "folder",
    "RunInfo": "info",
    "read_run_info": "info",
    "RunSummary": "listing",
    "list_runs": "listing",
    "strategy_of": "listing",
    "summarize_run": "listing",
    "EnsembleInfo": "ensemble_files",
    "EnsembleMember": "ensemble_files",
    "read_ensemble_info": "ensemble_files",
    "save_ensemble_info": "ensemble_files",
    "ModelInfo": "model_files",
    "load_model": "model_files",
    "load_weights": "model_files",
    "read_export_records": "model_files",
    "read_model_info": "model_files",
    "record_export": "model_files",
    "save_model": "model_files",
    "save_weights": "model_files",
    "OutOfFold": "oof",
    "read_oof_predictions": "oof",
    "write_oof_predictions": "oof",
    "PredictionsError": "predictions",
    "StoredPredictions": "predictions",
    "load_predictions": "predictions",
    "write_model_info": "model_files",
    "save_epoch_predictions": "predictions",
}

__all__ = [
    "EnsembleInfo",
    "EnsembleMember",
    "ModelInfo",
    "OutOfFold",
    "PredictionsError",
    "RunClaim",
    "RunFolder",
    "RunFolderBusyError",
    "RunInfo",
    "RunSummary",
    "StoredPredictions",
    "claim_free_run_folder",
    "claim_run_folder",
    "finished_epochs",
    "is_claimed",
    "list_runs",
    "load_checkpoint",
    "load_model",
    "load_predictions",
    "load_weights",
    "read_ensemble_info",
    "read_export_records",
    "read_model_info",
    "read_oof_predictions",
    "read_run_info",
    "record_export",
    "save_checkpoint",
    "save_ensemble_info",
    "save_epoch_predictions",
    "save_model",
    "save_weights",
    "strategy_of",
    "summarize_run",
    "write_model_info",
    "write_oof_predictions",
]

if TYPE_CHECKING:
    from tlstudio.runs.checkpoint import finished_epochs, load_checkpoint, save_checkpoint
    from tlstudio.runs.claim import (
        RunClaim,
        RunFolderBusyError,
        claim_free_run_folder,
        claim_run_folder,
        is_claimed,
    )
    from tlstudio.runs.ensemble_files import (
        EnsembleInfo,
        EnsembleMember,
        read_ensemble_info,
        save_ensemble_info,
    )
    from tlstudio.runs.folder import RunFolder
    from tlstudio.runs.info import RunInfo, read_run_info
    from tlstudio.runs.listing import RunSummary, list_runs, strategy_of, summarize_run
    from tlstudio.runs.model_files import (
        ModelInfo,
        load_model,
        load_weights,
        read_export_records,
        read_model_info,
        record_export,
        save_model,
        save_weights,
        write_model_info,
    )
    from tlstudio.runs.oof import OutOfFold, read_oof_predictions, write_oof_predictions
    from tlstudio.runs.predictions import (
        PredictionsError,
        StoredPredictions,
        load_predictions,
        save_epoch_predictions,
    )


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'tlstudio.runs' has no attribute '{name}'")
    return getattr(importlib.import_module(f"tlstudio.runs.{_WHERE[name]}"), name)
