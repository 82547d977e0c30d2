"""botauth"""
