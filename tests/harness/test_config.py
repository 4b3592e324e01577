"""The trial configuration: the assignment's 11 hyperparameters, built from a sweep's dict."""

import numpy as np
import pytest

from kata.config import ASSIGNMENT_VALUES, ConfigError, TrialConfig, load_config_file

ASSIGNMENT_KEYS = {
    "dataNormalisation",
    "horizontalFlip",
    "resizedCrop",
    "rotation",
    "numberHiddenLayers",
    "hiddenLayerSize",
    "activationFunction",
    "dropoutProbability",
    "numberEpochs",
    "learningRate",
    "batchSize",
}


def test_the_hyperparameters_are_the_assignments_eleven():
    assert set(TrialConfig().hyperparameters) == ASSIGNMENT_KEYS


def test_the_defaults_are_the_baseline_network():
    config = TrialConfig()
    assert (config.numberHiddenLayers, config.hiddenLayerSize) == (1, 128)
    assert config.activationFunction == "ReLU" and config.dropoutProbability == 0
    assert not any([config.dataNormalisation, config.horizontalFlip, config.rotation])


def test_numpy_scalars_from_a_sweep_become_plain_values():
    config = TrialConfig.from_dict(
        {
            "batchSize": np.int64(8),
            "learningRate": np.float64(0.01),
            "rotation": np.bool_(True),
            "activationFunction": np.str_("tanh"),
        }
    )
    assert type(config.batchSize) is int and config.batchSize == 8
    assert type(config.learningRate) is float
    assert config.rotation is True
    assert type(config.activationFunction) is str


def test_an_unknown_key_is_named_with_the_valid_ones():
    with pytest.raises(ConfigError, match=r"'batchsize'.*valid keys.*'batchSize'"):
        TrialConfig.from_dict({"batchsize": 64})


@pytest.mark.parametrize(
    "key, value",
    [
        ("rotation", 1),
        ("numberHiddenLayers", 0),
        ("numberHiddenLayers", 2.0),
        ("hiddenLayerSize", -64),
        ("activationFunction", "softmax"),
        ("dropoutProbability", 1.0),
        ("dropoutProbability", -0.1),
        ("numberEpochs", 0),
        ("numberEpochs", float("nan")),
        ("learningRate", 0.0),
        ("learningRate", float("inf")),
        ("batchSize", True),
        ("seed", -1),
        ("device", "gpu"),
    ],
)
def test_a_bad_value_is_named(key, value):
    with pytest.raises(ConfigError, match=f"{key}="):
        TrialConfig.from_dict({key: value})


def test_every_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as error:
        TrialConfig.from_dict({"learningRate": -1, "batchSize": 0})
    assert "learningRate" in str(error.value) and "batchSize" in str(error.value)


def test_a_fraction_of_an_epoch_is_allowed_for_the_coarse_stage():
    assert TrialConfig.from_dict({"numberEpochs": 0.25}).numberEpochs == 0.25


def test_to_dict_round_trips():
    config = TrialConfig(rotation=True, learningRate=0.02, seed=3)
    assert TrialConfig.from_dict(config.to_dict()) == config


# --- configuration files -------------------------------------------------------------------


def test_assignment_values_name_the_eleven_keys():
    assert set(ASSIGNMENT_VALUES) == ASSIGNMENT_KEYS


@pytest.mark.parametrize(
    "name, text",
    [
        ("c.yaml", "batchSize: 8\nrotation: true\nlearningRate: 3.0e-05\n"),
        ("c.yml", "{batchSize: 8, rotation: true, learningRate: 0.00003}"),
        ("c.json", '{"batchSize": 8, "rotation": true, "learningRate": 3e-05}'),
        ("c.txt", '{"batchSize": 8, "rotation": true, "learningRate": 3e-05}'),
    ],
)
def test_a_yaml_or_json_file_is_read(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    assert load_config_file(path) == {"batchSize": 8, "rotation": True, "learningRate": 3e-05}


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("missing.yaml", None, "missing.yaml: no such file"),
        ("bad.yaml", "a: 1\nb: [1\n", "bad.yaml: not valid YAML at line 3, column 1: expected"),
        ("tab.yaml", "a:\n\tb: 1\n", "tab.yaml: not valid YAML at line 2, column 1: .*'\\\\t'"),
        ("bad.json", '{"a": 1,}', "bad.json: not valid JSON at line 1, column 9: Expecting"),
        (
            "twice.yaml",
            "a: 1\nb: 2\na: 3\n",
            "twice.yaml: the key 'a' is given twice .line 1 and line 3",
        ),
        ("nested.yaml", "p: {x: 1, x: 2}\n", "nested.yaml: the key 'x' is given twice"),
        ("twice.json", '{"a": 1, "a": 2}', "twice.json: the key 'a' is given twice"),
        ("list.yaml", "- 1\n- 2\n", "list.yaml: expected a mapping.*found list"),
        ("empty.yaml", "", "empty.yaml: expected a mapping.*found an empty file"),
        ("text.json", '"batchSize"', "text.json: expected a mapping.*found str"),
    ],
)
def test_a_bad_file_is_a_config_error_naming_it(tmp_path, name, text, message):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config_file(path)


def test_a_folder_given_as_a_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="is a folder, not a configuration file"):
        load_config_file(tmp_path)
