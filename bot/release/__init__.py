"""Release candidates: the rules (plain Python) and the services that apply them."""
