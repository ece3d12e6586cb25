"""MATLAB v5 files (``save -v7``, ``scipy.io.savemat``) for `data.file`.

scipy's compiled v5 reader can crash the process that calls it on a damaged file (a segmentation
fault, found by the fuzz tests), which no exception handler catches. `read_mat` therefore runs it
in a child process (`python -m pinn_cli.io.mat_v5 FILE OUT NAME...`) that hands the variables
back as an ``.npz`` of plain arrays (read without pickles); a child that crashes ends in one
message. The child costs about half a second, once per run."""
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

import numpy as np

from pinn_cli.errors import PinnFitError
from pinn_cli.io.formats import DAMAGED, _fits_memory, _plain, _unreadable

HOW = "save('obs.mat', 'x', 't', 'u', '-v7') in MATLAB, or scipy.io.savemat"


def read_mat(path: Path, names: List[str]) -> Dict[str, np.ndarray]:
    """The variables `names` (those present) of the MAT v5 file `path`, and `__names__`: every
    variable it holds; read in a child process (read_here). PinnFitError when it cannot be read."""
    with tempfile.TemporaryDirectory(prefix="pinn-fit-mat-") as tmp:
        out = Path(tmp) / "variables.npz"
        r = subprocess.run([sys.executable, "-m", "pinn_cli.io.mat_v5", str(path), str(out),
                            *names], capture_output=True, text=True)
        said = r.stdout.strip().splitlines()
        if r.returncode == 0 and said:
            with np.load(out, allow_pickle=False) as npz:
                return {n[2:]: npz[n] for n in npz.files} | {"__names__": json.loads(said[-1])}
        if r.returncode == PinnFitError.exit_code and said:
            raise PinnFitError(said[-1])
    stop = f"signal {-r.returncode}" if r.returncode < 0 else f"exit code {r.returncode}"
    _unreadable(Path(path), "a MATLAB", f"the reader stopped with {stop}", HOW)


def read_here(path: Path, names: List[str]) -> Dict[str, np.ndarray]:
    """The variables `names` (those present) of a MAT v5 file; cells, structs and objects are
    refused. loadmat never unpickles; struct_as_record keeps structs as plain records."""
    import scipy.io

    try:
        have = [v[0] for v in scipy.io.whosmat(str(path), appendmat=False)]
        want = [n for n in dict.fromkeys(names) if n in have]
        _fits_memory(path.stat().st_size * 8, path, "the MAT file")
        data = scipy.io.loadmat(str(path), appendmat=False, variable_names=want,
                                struct_as_record=True, simplify_cells=False,
                                squeeze_me=False, chars_as_strings=True, spmatrix=False) \
            if want else {}
    # scipy's v5 reader can also end in UnboundLocalError on a damaged variable header
    except (scipy.io.matlab.MatReadError, UnboundLocalError, *DAMAGED) as err:
        _unreadable(path, "a MATLAB", err, HOW)
    out = {}
    for n in want:
        arr = data.get(n)
        if hasattr(arr, "toarray"):
            arr = arr.toarray()
        out[n] = _plain(arr, n, path)
    return out | {"__names__": have}


def main(argv: List[str]) -> int:
    """The child: read FILE's variables NAME... into the .npz OUT; print the names the file
    holds (JSON, last line) and exit 0, or print the one-line message and exit with
    PinnFitError's code."""
    path, out, names = Path(argv[0]), argv[1], argv[2:]
    try:
        arrays = read_here(path, names)
    except PinnFitError as err:
        print(" ".join(str(err).split()))
        return PinnFitError.exit_code
    have = arrays.pop("__names__")
    np.savez(out, **{f"v_{n}": a for n, a in arrays.items()})  # any name, even `file`
    print(json.dumps([str(n) for n in have]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
