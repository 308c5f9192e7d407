"""Remediation: detect a fault, plan its fix, get it approved, act, and keep an audit trail."""
