# Every exported cmdlet (including ones added later) must ship MAML help: a synopsis, a description,
# a description for every parameter and at least one example. The help is generated at build time by
# tools/New-MamlHelp.ps1 from the compiled cmdlets and docs/help/<cmdlet>.psd1.

BeforeDiscovery {
    if (-not $env:ARCP_MODULE_PATH) { throw 'ARCP_MODULE_PATH is not set; run the tests through ./build.ps1 test.' }
    # Discovery runs in its own scope: read the export list from the manifest without importing the DLL twice.
    $script:Cmdlets = @((Import-PowerShellDataFile -LiteralPath $env:ARCP_MODULE_PATH).CmdletsToExport | ForEach-Object { @{ Name = $_ } })
}

BeforeAll {
    Import-Module $env:ARCP_MODULE_PATH -Force
    $script:Common = [System.Collections.Generic.HashSet[string]]::new(
        [string[]]([System.Management.Automation.Cmdlet]::CommonParameters + [System.Management.Automation.Cmdlet]::OptionalCommonParameters),
        [StringComparer]::OrdinalIgnoreCase)
}

AfterAll {
    Remove-Module Arcp.Resumability -ErrorAction SilentlyContinue
}

Describe 'Help for <Name>' -ForEach $script:Cmdlets {
    BeforeAll {
        $script:Help = Get-Help -Name $Name -Full
        $script:Text = $script:Help | Out-String -Width 200
    }

    It 'comes from the MAML file, with a synopsis' {
        $script:Help.Synopsis | Should -Not -BeNullOrEmpty
        # Without a help file PowerShell shows the syntax as the synopsis.
        $script:Help.Synopsis | Should -Not -Match ([regex]::Escape("$Name ["))
        $script:Text | Should -Match 'SYNOPSIS'
    }

    It 'has a description' {
        ($script:Help.description | Out-String).Trim() | Should -Not -BeNullOrEmpty
    }

    It 'describes every parameter' {
        $parameters = @((Get-Command $Name).Parameters.Keys | Where-Object { -not $script:Common.Contains($_) })
        foreach ($parameter in $parameters) {
            $entry = @($script:Help.parameters.parameter | Where-Object name -EQ $parameter)
            $entry.Count | Should -Be 1 -Because "-$parameter of $Name should be in its help"
            ($entry[0].description | Out-String).Trim() | Should -Not -BeNullOrEmpty -Because "-$parameter of $Name needs a description"
        }
    }

    It 'has at least one example with code' {
        @($script:Help.examples.example).Count | Should -BeGreaterThan 0
        foreach ($example in @($script:Help.examples.example)) { $example.code | Should -Not -BeNullOrEmpty }
    }
}

Describe 'about_Arcp_Resumability' {
    It 'is available through Get-Help' {
        Get-Help about_Arcp_Resumability | Out-String | Should -Match 'Crash-proof, resumable multi-step jobs'
    }
}
