"""Tests of analysis.core.errors: located input errors and output errors in words."""

from __future__ import annotations

import errno

import pytest

from analysis.core.errors import InputError, OutputError, writing


def test_input_error_names_file_column_and_row():
    error = InputError("bad value.", file="deals.csv", column="amount", row=3)
    assert error.describe() == "In file deals.csv, column 'amount', row 3: bad value."


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
        (OSError(errno.EROFS, "Read-only file system"), "the file system is read-only"),
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
        # pyarrow puts the number in the text only
        (OSError("Error writing bytes. Detail: [errno 28] No space left"), "the disk is full"),
        (OSError(errno.ENAMETOOLONG, "File name too long"), "File name too long"),
    ],
)
def test_writing_turns_os_errors_into_one_sentence(error, reason):
    with pytest.raises(OutputError) as info, writing("/x/out", "out is unchanged"):
        raise error
    assert info.value.describe().startswith(f"Writing /x/out: {reason}; out is unchanged.")
    assert ("Free some space" in info.value.message) == (reason == "the disk is full")


def test_writing_lets_other_errors_through():
    with pytest.raises(KeyError), writing("/x/out", "out is unchanged"):
        raise KeyError("not an OS error")
