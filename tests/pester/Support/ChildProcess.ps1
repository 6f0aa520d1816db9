# Runs PowerShell scripts in a child pwsh (the same PowerShell as the tests) with the module under test,
# to play a second process: a job owner that crashes, or one that is still running.

function Get-ChildPwshCommand {
    # Under `dotnet pwsh` the process is the dotnet host running pwsh.dll.
    $pwsh = [Environment]::ProcessPath
    $prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($pwsh) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    return $pwsh, $prefix
}

function New-ChildScript([string]$Folder, [string]$Body) {
    $path = Join-Path $Folder "child-$([guid]::NewGuid().ToString('n')).ps1"
    Set-Content -LiteralPath $path -Value "`$ErrorActionPreference = 'Stop'`nImport-Module '$env:ARCP_MODULE_PATH'`n$Body"
    return $path
}

# Runs the script to the end; returns its exit code and output.
function Invoke-ChildPwsh([string]$Folder, [string]$Body) {
    $pwsh, $prefix = Get-ChildPwshCommand
    $script = New-ChildScript $Folder $Body
    $output = & $pwsh @prefix -NoProfile -NonInteractive -File $script 2>&1
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Output = ($output | Out-String) }
}

# Starts the script and returns the process at once (stdout goes to <script>.out).
function Start-ChildPwsh([string]$Folder, [string]$Body) {
    $pwsh, $prefix = Get-ChildPwshCommand
    $script = New-ChildScript $Folder $Body
    Start-Process -FilePath $pwsh -ArgumentList (@($prefix) + @('-NoProfile', '-NonInteractive', '-File', $script)) -PassThru `
        -RedirectStandardOutput "$script.out" -RedirectStandardError "$script.err"
}

# Waits until the file exists and has content (a writer creates it before writing), and returns the content.
function Wait-ForFile([string]$Path, [int]$TimeoutSeconds = 60) {
    $clock = [Diagnostics.Stopwatch]::StartNew()
    while ($true) {
        $text = if (Test-Path -LiteralPath $Path) { Get-Content -LiteralPath $Path -Raw -ErrorAction SilentlyContinue }
        if ($text -and $text.Trim()) { return $text.Trim() }
        if ($clock.Elapsed.TotalSeconds -gt $TimeoutSeconds) { throw "Timed out waiting for $Path" }
        Start-Sleep -Milliseconds 50
    }
}
