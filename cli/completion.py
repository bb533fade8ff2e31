"""Shell completion scripts for bash and zsh, built from the parser so they stay in step.

Commands and options complete from the parser; project names and run ids from the server
(``trainyard ls -q``, ``trainyard runs -q``), quietly, with the URL and token the shell has.
"""

from __future__ import annotations

__all__ = ["SHELLS", "Spec", "script"]

SHELLS = ("bash", "zsh")
SERVER_COMMANDS = {"serve": "run the API server", "token": "make a new API token",
                   "tui": "the terminal UI"}
TAKES_PROJECT = ("runs", "run")
TAKES_RUN = ("wait", "logs", "cancel", "pause", "resume", "compare")

# command name -> (one-line help, its options)
Spec = dict[str, tuple[str, list[str]]]


def _bash(spec: Spec) -> str:
    names = " ".join([*SERVER_COMMANDS, *spec])
    cases = "\n".join(f'        {name}) opts="{" ".join(opts)}" ;;'
                      for name, (_, opts) in spec.items())
    return f"""# trainyard bash completion: eval "$(trainyard completion bash)"
_trainyard() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" cmd="${{COMP_WORDS[1]}}" opts="" w
    if [ "$COMP_CWORD" -eq 1 ]; then
        COMPREPLY=( $(compgen -W "{names}" -- "$cur") ); return
    fi
    for w in "${{COMP_WORDS[@]:1:COMP_CWORD-1}}"; do
        [ "$w" = "--" ] && {{ COMPREPLY=( $(compgen -f -- "$cur") ); return; }}
    done
    case "$cmd" in
{cases}
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "$opts" -- "$cur") ); return
    fi
    local IFS=$'\\n'
    case "$cmd" in
        {"|".join(TAKES_PROJECT)})
            COMPREPLY=( $(compgen -W "$(trainyard ls -q 2>/dev/null)" -- "$cur") ) ;;
        {"|".join(TAKES_RUN)})
            COMPREPLY=( $(compgen -W "$(trainyard runs -q --limit 200 2>/dev/null)" \
                          -- "$cur") ) ;;
        completion) COMPREPLY=( $(compgen -W "{chr(10).join(SHELLS)}" -- "$cur") ) ;;
    esac
}}
complete -o default -F _trainyard trainyard
"""


def _zsh_escape(text: str) -> str:
    return text.replace("'", "'\\''").replace(":", "\\:")


def _zsh(spec: Spec) -> str:
    described = [*SERVER_COMMANDS.items(), *((n, h) for n, (h, _) in spec.items())]
    lines = "\n".join(f"    '{name}:{_zsh_escape(help)}'" for name, help in described)
    cases = "\n".join(f"    {name}) opts=({' '.join(opts)}) ;;"
                      for name, (_, opts) in spec.items())
    return f"""#compdef trainyard
# trainyard zsh completion: eval "$(trainyard completion zsh)" (after compinit)
_trainyard() {{
  local -a commands opts
  commands=(
{lines}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands; return
  fi
  if (( ${{words[(I)--]}} && ${{words[(I)--]}} < CURRENT )); then
    _files; return
  fi
  case $words[2] in
{cases}
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $opts; return
  fi
  case $words[2] in
    {"|".join(TAKES_PROJECT)}) compadd -- ${{(f)"$(trainyard ls -q 2>/dev/null)"}} ;;
    {"|".join(TAKES_RUN)}) compadd -- ${{(f)"$(trainyard runs -q --limit 200 2>/dev/null)"}} ;;
    completion) compadd -- {" ".join(SHELLS)} ;;
  esac
}}
compdef _trainyard trainyard
"""


def script(shell: str, spec: Spec) -> str:
    return _bash(spec) if shell == "bash" else _zsh(spec)
