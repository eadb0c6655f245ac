"""The aiwf grammar, shipped as package data (`aiwfc_grammar`); see aiwf.lark."""
