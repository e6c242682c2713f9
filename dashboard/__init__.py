"""The SCR Observatory Streamlit dashboard."""
