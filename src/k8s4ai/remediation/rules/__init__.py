"""The built-in rules, one module each; `registry` names them."""
