"""Automatic model tuning: search strategies (suggest/observe) and stopping rules. Pure, no I/O."""
