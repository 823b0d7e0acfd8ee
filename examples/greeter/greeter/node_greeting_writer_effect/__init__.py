"""EFFECT: writes a greeting to the file named by GREETER_OUTPUT."""
