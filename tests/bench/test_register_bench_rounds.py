"""The register bench's summary of alternating rounds: each round's rates, then medians."""

from __future__ import annotations

from bench.register_bench import rates_by_round


def test_rounds_are_listed_with_their_ratio_and_the_medians() -> None:
    rounds = [
        ({"registrations_per_s": 2000.0}, {"registrations_per_s": 500.0}),
        ({"registrations_per_s": 2600.0}, {"registrations_per_s": 520.0}),
        ({"registrations_per_s": 2400.0}, {"registrations_per_s": 400.0}),
    ]
    lines = rates_by_round(rounds).splitlines()
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]
    assert cells == [
        ["1", "2000", "500", "4.00"],
        ["2", "2600", "520", "5.00"],
        ["3", "2400", "400", "6.00"],
        ["median", "2400", "500", "5.00"],
    ]


def test_rounds_without_jssip_show_no_ratio() -> None:
    rounds = [({"registrations_per_s": 2100.0}, None), ({"registrations_per_s": 2300.0}, None)]
    cells = [line.split("|")[1:5] for line in rates_by_round(rounds).splitlines()[2:]]
    assert [[cell.strip() for cell in row] for row in cells] == [
        ["1", "2100", "-", "-"],
        ["2", "2300", "-", "-"],
        ["median", "2200", "-", "-"],
    ]
