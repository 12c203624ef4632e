"""Runs onnx.checker.check_model (full check: shape inference too) on every .onnx file in a directory.

Prints one line per file, "ok <name>" or "FAIL <name>: <reason>", then "checked N, failed M"."""
import os
import sys

import onnx

directory = sys.argv[1]
failed = 0
names = sorted(f for f in os.listdir(directory) if f.endswith(".onnx"))
for name in names:
    try:
        model = onnx.load(os.path.join(directory, name))
        onnx.checker.check_model(model, full_check=True)
        print("ok", name, "opset", model.opset_import[0].version, "ir", model.ir_version)
    except Exception as e:  # noqa: BLE001 - every failure is reported
        failed += 1
        print("FAIL", name + ":", str(e).replace("\n", " ")[:500])
print(f"checked {len(names)}, failed {failed}")
