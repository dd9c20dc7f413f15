"""Caseline's Qt layer: windows and widgets that show ``viewer`` data and forward clicks."""
