# `python -m lupa` (lupa/_cli.py): a program, nothing to import.
