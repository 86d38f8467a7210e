"""The transformers callback, driven by a real Trainer on a tiny BERT built from a config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is imported: nothing may be downloaded

import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainingArguments,
)

import hypertuner  # noqa: E402
from hypertuner.integrations.transformers import HypertunerCallback  # noqa: E402


class RandomTokens(torch.utils.data.Dataset):
    """Random token ids with random binary labels; reading more than ``fail_after`` raises."""

    def __init__(self, size: int = 32, length: int = 8, fail_after: int | None = None) -> None:
        generator = torch.Generator().manual_seed(0)
        self.ids = torch.randint(0, 50, (size, length), generator=generator)
        self.labels = torch.randint(0, 2, (size,), generator=generator)
        self.fail_after = fail_after
        self.reads = 0

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        self.reads += 1
        if self.fail_after is not None and self.reads > self.fail_after:
            raise OSError("disk gone")
        ids = self.ids[i]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": self.labels[i]}


def make_trainer(tmp_path, callback: HypertunerCallback, **options) -> Trainer:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=16,
    )
    settings = dict(
        output_dir=str(tmp_path / "out"),
        max_steps=6,
        logging_steps=2,
        eval_strategy="steps",
        eval_steps=3,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=8,
        learning_rate=1e-3,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
    )
    return Trainer(
        model=BertForSequenceClassification(config),
        args=TrainingArguments(**{**settings, **options}),
        train_dataset=RandomTokens(),
        eval_dataset=RandomTokens(16),
        callbacks=[callback],
    )


def points(run, key: str) -> list[tuple[float, float]]:
    return list(zip(run[key].steps.tolist(), run[key].values.tolist()))


def test_train_logs_every_log_at_its_step_with_args_and_config_as_params(tmp_path):
    """train() makes one finished run: each log_history entry at its step, args+config as params."""
    callback = HypertunerCallback(dir=tmp_path / "runs")
    trainer = make_trainer(tmp_path, callback)
    trainer.train()

    (run,) = hypertuner.runs(tmp_path / "runs")
    assert run.status == "finished"
    assert callback.logger is None
    assert run["train/loss"].steps.tolist() == [2.0, 4.0, 6.0]
    assert run["eval/loss"].steps.tolist() == [3.0, 6.0]
    assert run.params.learning_rate == 1e-3
    assert run.params.max_steps == 6
    assert run.params.model.hidden_size == 16
    assert run.params.model.id2label.to_dict() == {"0": "LABEL_0", "1": "LABEL_1"}

    expected: dict[str, list[tuple[float, float]]] = {}
    for entry in trainer.state.log_history:
        for key, value in entry.items():
            if key != "step":
                expected.setdefault(key, []).append((float(entry["step"]), float(value)))
    sections = {
        "loss": "train/loss",
        "grad_norm": "train/grad_norm",
        "learning_rate": "train/learning_rate",
        "epoch": "epoch",
        "eval_loss": "eval/loss",
        "eval_runtime": "eval/runtime",
        "train_loss": "train/train_loss",
        "train_runtime": "train/train_runtime",
        "total_flos": "train/total_flos",
    }
    assert set(sections) <= set(expected)
    for key, name in sections.items():
        assert points(run, name) == expected[key], key
    assert len(run) == len(expected)


def test_evaluate_after_train_logs_to_a_run_of_its_own(tmp_path):
    """A trainer.evaluate() after train() makes a second run, finished, with the same params."""
    callback = HypertunerCallback("bert", tmp_path)
    trainer = make_trainer(tmp_path, callback, eval_strategy="no")
    trainer.train()
    trainer.evaluate()

    trained, evaluated = hypertuner.load(tmp_path / "bert"), hypertuner.load(tmp_path / "bert-2")
    assert (trained.status, evaluated.status) == ("finished", "finished")
    assert "eval/loss" not in trained and evaluated["eval/loss"].steps.tolist() == [6.0]
    # The same arguments; the config as it is now (training set its problem_type).
    assert evaluated.params.learning_rate == trained.params.learning_rate == 1e-3
    assert evaluated.params.model.hidden_size == trained.params.model.hidden_size == 16


def test_a_train_that_raised_is_closed_crashed_by_the_next(tmp_path):
    """A run left open by a train() that raised reads crashed once the next train() begins."""
    callback = HypertunerCallback("bert", tmp_path)
    broken = make_trainer(tmp_path, callback, eval_strategy="no")
    broken.train_dataset = RandomTokens(fail_after=16)  # 4 batches of 4 (one read ahead)
    with pytest.raises(OSError, match="disk gone"):
        broken.train()
    first = callback.logger
    assert first is not None and hypertuner.load(first.path).status == "running"
    assert first["train/loss"].steps.tolist()[:1] == [2.0]  # what it logged is kept

    make_trainer(tmp_path, callback, eval_strategy="no").train()
    assert hypertuner.load(tmp_path / "bert").status == "crashed"
    assert hypertuner.load(tmp_path / "bert-2").status == "finished"


def test_values_that_are_not_numbers_are_left_out_with_one_warning(tmp_path):
    """A text metric from compute_metrics is left out, and one HypertunerWarning names it."""
    callback = HypertunerCallback(dir=tmp_path)
    trainer = make_trainer(tmp_path, callback)
    trainer.compute_metrics = lambda prediction: {"report": "fine", "ok": 1.0}
    with pytest.warns(hypertuner.HypertunerWarning, match="'eval_report'") as caught:
        trainer.train()

    assert len(caught) == 1
    (run,) = hypertuner.runs(tmp_path)
    assert run["eval/ok"].steps.tolist() == [3.0, 6.0]
    assert "eval/report" not in run


def test_under_torchrun_only_the_world_process_zero_writes(tmp_path):
    """Trained by two processes under torchrun (DDP over gloo), the callback makes one run."""
    script = tmp_path / "train.py"
    script.write_text(
        "import json, sys\n"
        "from pathlib import Path\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from test_integration_transformers import HypertunerCallback, make_trainer\n"
        f"out = Path({str(tmp_path)!r})\n"
        "callback = HypertunerCallback(dir=out / 'runs')\n"
        "trainer = make_trainer(out, callback, ddp_backend='gloo')\n"
        "trainer.train()\n"
        "rank = trainer.args.process_index\n"  # a file each: two ranks' prints may share a line
        "(out / f'report-{rank}.json').write_text(json.dumps([rank, trainer.args.world_size,\n"
        "                                                     callback.logger is None]))\n"
    )
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    result = subprocess.run(
        [*command, "--nproc_per_node=2", str(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    reports = sorted(json.loads(p.read_text()) for p in tmp_path.glob("report-*.json"))
    assert reports == [[0, 2, True], [1, 2, True]]

    (run,) = hypertuner.runs(tmp_path / "runs")
    assert run.status == "finished"
    assert run["train/loss"].steps.tolist() == [2.0, 4.0, 6.0]
    assert run["eval/loss"].steps.tolist() == [3.0, 6.0]


def test_a_pruned_sweep_trial_stops_the_trainer_at_its_first_log(tmp_path, pruned_trial):
    trainer = make_trainer(tmp_path, HypertunerCallback())
    trainer.train()
    assert trainer.state.global_step == 2  # of max_steps=6: stopped at the first log
    run = hypertuner.load(pruned_trial)
    assert run.status == "pruned" and run["train/loss"].steps.tolist() == [2.0]
