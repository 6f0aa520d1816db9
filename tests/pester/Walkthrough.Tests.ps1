# Runs the README's "Operator walkthrough" (the first ```powershell block under that heading) against a
# temporary store, so the documented commands keep working.

BeforeAll {
    if (-not $env:ARCP_MODULE_PATH) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    $script:Readme = Join-Path $PSScriptRoot '../../README.md'
    $script:StoreDir = Join-Path ([IO.Path]::GetTempPath()) "arcp-walkthrough-$([guid]::NewGuid().ToString('n'))"
    $null = New-Item -ItemType Directory -Path $script:StoreDir
}

AfterAll {
    Remove-Module Arcp.Resumability -ErrorAction SilentlyContinue
    Remove-Item -LiteralPath $script:StoreDir -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'README operator walkthrough' {
    It 'runs without errors against a temporary store' {
        $text = Get-Content -LiteralPath $script:Readme -Raw
        $match = [regex]::Match($text, '(?ms)^#+\s*Operator walkthrough\s*$.*?^```powershell\s*$(?<code>.*?)^```\s*$')
        $match.Success | Should -BeTrue -Because 'README.md needs a ```powershell block under "Operator walkthrough"'
        # The walkthrough imports the module from the repository's out/ folder; the tests use the published one.
        $code = $match.Groups['code'].Value -replace '(?m)^\s*Import-Module\s+\S*Arcp\.Resumability\.psd1\s*$', "Import-Module '$env:ARCP_MODULE_PATH'"

        $previous = $env:ARCP_STORE
        $env:ARCP_STORE = Join-Path $script:StoreDir 'arcp.db'
        Push-Location -LiteralPath $script:StoreDir
        try {
            $output = & ([scriptblock]::Create($code)) *>&1
        }
        finally {
            Pop-Location
            $env:ARCP_STORE = $previous
        }

        $errors = @($output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors | ForEach-Object { "$_" } | Should -BeNullOrEmpty
        Get-ArcpJob -Store (Join-Path $script:StoreDir 'arcp.db') | Should -Not -BeNullOrEmpty
    }
}
