"""Simulation of walkers, pods and their sensors for testing gaitchain without hardware."""
